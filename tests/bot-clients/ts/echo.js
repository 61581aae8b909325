// The README example of @maxhub/max-bot-api, unchanged but for the base URL (and CommonJS `require`).
// Run: MAX_API_URL=http://127.0.0.1:<port>/bot-api/ BOT_TOKEN=<token> node echo.js
// MAX_API_URL must end with `/`: the client resolves paths like `me` against it with `new URL`.
const { Bot } = require('@maxhub/max-bot-api');

const bot = new Bot(process.env.BOT_TOKEN, { clientOptions: { baseUrl: process.env.MAX_API_URL } });

bot.api.setMyCommands([{ name: 'echo', description: 'Echo' }]);

bot.on('bot_started', (ctx) => ctx.reply(`hello ${ctx.startPayload ?? ''}`));

bot.on('message_created', (ctx) => ctx.reply(ctx.message.body.text));

bot.start();
