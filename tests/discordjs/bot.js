// A minimal discord.js bot: connect -> interaction -> deferred ACK -> edit
// original -> channel message -> a followup with two files and a channel
// message with a file (multipart uploads, as envbot's weekly report sends
// them). Run by tests/e2e/discordjs_e2e.py against
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

client.once(Events.ClientReady, (c) => {
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
