// An inline-keyboard bot as the @maxhub/max-bot-api docs write one (docs/04-keyboard.md,
// examples/keyboard-bot.ts), unchanged but for the base URL (and CommonJS `require`).
// Run: MAX_API_URL=http://127.0.0.1:<port>/bot-api/ BOT_TOKEN=<token> node keyboard.js
// MAX_API_URL must end with `/`: the client resolves paths like `me` against it with `new URL`.
const { Bot, Keyboard } = require('@maxhub/max-bot-api');

const bot = new Bot(process.env.BOT_TOKEN, { clientOptions: { baseUrl: process.env.MAX_API_URL } });

bot.api.setMyCommands([{ name: 'menu', description: 'Меню' }]);

const tripKeyboard = Keyboard.inlineKeyboard([
  [Keyboard.button.callback('Да', 'yes'), Keyboard.button.callback('Нет', 'no')],
  [Keyboard.button.link('Программа', 'https://example.org/trip')],
]);

const showMenu = (ctx) => ctx.reply('Пойдёте на экскурсию?', { attachments: [tripKeyboard] });

bot.command('menu', showMenu);
bot.hears('menu', showMenu);

// An empty `attachments` in the new message body removes the keyboard.
bot.action('yes', (ctx) => ctx.answerOnCallback({
  notification: 'Записали: да',
  message: { text: 'Вы идёте на экскурсию', attachments: [] },
}));

bot.action('no', (ctx) => ctx.answerOnCallback({ notification: 'Записали: нет' }));

bot.start();
