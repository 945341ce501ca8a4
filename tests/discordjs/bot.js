// A minimal discord.js bot: connect -> (envbot's localized command
// definitions read back, PUT again, a bad locale refused) -> interaction ->
// deferred ACK -> edit original -> channel message -> a followup with two
// files and a channel message with a file (multipart uploads, as envbot's
// weekly report sends them). Run by tests/e2e/discordjs_e2e.py against
// tests/fakes/fake_discord.py to prove that the fake behaves like Discord
// for a real, widely used client library.
'use strict';
const {
  AttachmentBuilder, Client, EmbedBuilder, Events, MessageFlags, Routes,
} = require('discord.js');

// The same bytes as discordjs_e2e.py's: every byte value, a PNG signature
// first (so content sniffing sees a picture), a multipart boundary's start.
const chart = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7 + 3) & 0xff));
Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(chart, 0);
Buffer.from('\r\n--boundary\r\n\r\n').copy(chart, 1000);
const csv = Buffer.from('environment,hours\r\n"a,""b""",1.50\r\n');

const port = process.env.FAKE_PORT;
const client = new Client({
  intents: [],
  rest: { api: `http://127.0.0.1:${port}/api` },
});

// With COMMANDS_GUILD set (envbot's register-commands ran first): read
// envbot's command definitions back with their translations the way
// discord.js does, count the Korean descriptions of every command,
// subcommand and option, PUT them again through discord.js, and send one
// with a locale Discord does not have, which must be refused like Discord
// refuses it.
async function checkCommands(guildId) {
  const cmds = await client.application.commands.fetch({ guildId, withLocalizations: true });
  let n = 0;
  let ko = 0;
  const walk = (items) => {
    for (const o of items || []) {
      n += 1;
      if (o.descriptionLocalizations && o.descriptionLocalizations.ko) ko += 1;
      walk(o.options);
    }
  };
  walk([...cmds.values()]);
  const env = cmds.find((c) => c.name === 'env');
  console.log(`COMMANDS n=${n} ko=${ko} env=${env ? env.descriptionLocalizations.ko : ''}`);
  // As ApplicationCommandData (camelCase): discord.js turns it into
  // Discord's JSON, translations included.
  await client.application.commands.set([...cmds.values()].map((c) => ({
    name: c.name,
    description: c.description,
    descriptionLocalizations: c.descriptionLocalizations,
    dmPermission: c.dmPermission,
    options: c.options,
  })), guildId);
  console.log('COMMANDS_SET');
  try {
    await client.rest.put(Routes.applicationGuildCommands(client.application.id, guildId), {
      body: [{ name: 'ping', description: 'ping', description_localizations: { kr: '핑' } }],
    });
    console.log('REFUSED none');
  } catch (err) {
    console.log(`REFUSED ${err.code} ${String(err.message).replace(/\n/g, ' | ')}`);
  }
}

client.once(Events.ClientReady, async (c) => {
  if (process.env.COMMANDS_GUILD) {
    try {
      await checkCommands(process.env.COMMANDS_GUILD);
    } catch (err) {
      console.log(`ERROR ${err}`);
    }
  }
  console.log(`READY ${c.user.id}`);
});

client.on(Events.InteractionCreate, async (interaction) => {
  try {
    if (!interaction.isChatInputCommand()) return;
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    await interaction.editReply({ content: `pong: /${interaction.commandName}` });
    await client.rest.post(Routes.channelMessages(interaction.channelId), {
      body: { content: 'done', allowed_mentions: { parse: [] } },
    });
    await interaction.followUp({
      content: 'report',
      embeds: [new EmbedBuilder().setTitle('Hours up').setImage('attachment://chart.png')],
      files: [
        new AttachmentBuilder(chart, { name: 'chart.png' }),
        new AttachmentBuilder(csv, { name: 'report.csv' }),
      ],
    });
    await client.rest.post(Routes.channelMessages(interaction.channelId), {
      body: {
        embeds: [{ title: 'Hours up', image: { url: 'attachment://chart.png' } }],
        attachments: [{ id: 0, filename: 'chart.png' }],
        allowed_mentions: { parse: [] },
      },
      files: [{ name: 'chart.png', data: chart, contentType: 'image/png' }],
    });
    console.log(`DONE ${interaction.id}`);
  } catch (err) {
    console.log(`ERROR ${err}`);
  }
});

client.on(Events.Error, (err) => console.log(`ERROR ${err}`));
client.login(process.env.DISCORD_TOKEN);
