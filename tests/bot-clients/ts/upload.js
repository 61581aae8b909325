// An upload-and-send bot as the @maxhub/max-bot-api docs write one (docs/03-attachments.md,
// examples/attachments-bot.ts: `ctx.api.upload*` → `ctx.reply(text, { attachments: [x.toJson()] })`,
// `new ImageAttachment({ token })` for a file already in Max), unchanged but for the base URL,
// the file paths taken from the environment (and CommonJS `require`).
// Run: MAX_API_URL=http://127.0.0.1:<port>/bot-api/ BOT_TOKEN=<token> PHOTO=<a.jpg> DOC=<homework.pdf>
//      VIDEO=<a.mp4> VOICE=<a.mp3> node upload.js
// MAX_API_URL must end with `/`: the client resolves paths like `me` against it with `new URL`.
const fs = require('fs');
const { Bot, ImageAttachment } = require('@maxhub/max-bot-api');

const bot = new Bot(process.env.BOT_TOKEN, { clientOptions: { baseUrl: process.env.MAX_API_URL } });

bot.api.setMyCommands([
  { name: 'photo', description: 'Фото' },
  { name: 'doc', description: 'Документ' },
  { name: 'video', description: 'Видео' },
  { name: 'voice', description: 'Голос' },
]);

// A path: multipart, or Content-Range chunks when POST /uploads returns a token.
bot.command('photo', async (ctx) => {
  const image = await ctx.api.uploadImage({ source: process.env.PHOTO });
  return ctx.reply('Фото', { attachments: [image.toJson()] });
});

bot.command('doc', async (ctx) => {
  const file = await ctx.api.uploadFile({ source: process.env.DOC });
  return ctx.reply('', { attachments: [file.toJson()] });
});

bot.command('video', async (ctx) => {
  const video = await ctx.api.uploadVideo({ source: process.env.VIDEO });
  const info = await ctx.api.getVideoInfo(video.token);
  return ctx.reply(info.urls?.mp4_720 ? 'Видео' : 'no url', { attachments: [video.toJson()] });
});

// A Buffer: always multipart.
bot.command('voice', async (ctx) => {
  const audio = await ctx.api.uploadAudio({ source: fs.readFileSync(process.env.VOICE) });
  return ctx.reply('Голос', { attachments: [audio.toJson()] });
});

// Any other message with a photo: send the same photo back by its token.
bot.on('message_created', (ctx) => {
  const photo = ctx.message.body.attachments?.find((attachment) => attachment.type === 'image');
  if (!photo) return undefined;
  const image = new ImageAttachment({ token: photo.payload.token });
  return ctx.reply('Ваше фото', { attachments: [image.toJson()] });
});

bot.start();
