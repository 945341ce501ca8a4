// The discord.js side of bench/run's comparison: a minimal bot that does
// for every slash command what envbot's /env status does before it asks AWS:
// an ephemeral deferred ACK, then one edit of the reply. Run with
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
    await interaction.editReply({ content: `status of ${interaction.commandName}` });
  } catch (err) {
    console.log(`ERROR ${err}`);
  }
});

client.on(Events.Error, (err) => console.log(`ERROR ${err}`));
client.login(process.env.DISCORD_TOKEN);
