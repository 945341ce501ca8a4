// A minimal discord.js bot: connect -> interaction -> deferred ACK -> edit
// original -> channel message. Run by tests/e2e/discordjs_e2e.py against
// tests/fakes/fake_discord.py to prove that the fake behaves like Discord
// for a real, widely used client library.
'use strict';
const { Client, Events, MessageFlags, Routes } = require('discord.js');

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
    console.log(`DONE ${interaction.id}`);
  } catch (err) {
    console.log(`ERROR ${err}`);
  }
});

client.on(Events.Error, (err) => console.log(`ERROR ${err}`));
client.login(process.env.DISCORD_TOKEN);
