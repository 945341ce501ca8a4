// The discord.js side of bench/run's comparison: a minimal bot that answers
// every slash command with an ephemeral deferred ACK and nothing else (the
// least a bot can do; envbot answers the same burst with a full reply). Run with
// NODE_PATH=tests/discordjs/node_modules (the copy the e2e test installs)
// and FAKE_PORT / DISCORD_TOKEN of tests/fakes/fake_discord.py.
'use strict';
const { Client, Events, MessageFlags } = require('discord.js');

const client = new Client({
  intents: [],
  rest: { api: `http://127.0.0.1:${process.env.FAKE_PORT}/api` },
});

client.once(Events.ClientReady, (c) => console.log(`READY ${c.user.id}`));

client.on(Events.InteractionCreate, async (interaction) => {
  try {
    if (!interaction.isChatInputCommand()) return;
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  } catch (err) {
    console.log(`ERROR ${err}`);
  }
});

client.on(Events.Error, (err) => console.log(`ERROR ${err}`));
client.login(process.env.DISCORD_TOKEN);
