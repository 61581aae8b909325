# An upload-and-send bot as maxapi's examples/05_media_bot.py writes one (`InputMedia(path=...)`
# in `attachments`, `bot.upload_media` for a token ahead of sending) and `bot.get_video`,
# unchanged but for the base URL and the file paths taken from the environment.
# Run: MAX_API_URL=http://127.0.0.1:<port>/bot-api/ MAX_BOT_TOKEN=<token> PHOTO=<a.jpg>
#      DOC=<homework.pdf> VIDEO=<a.mp4> VOICE=<a.mp3> python upload.py
# InputMedia picks the upload type from the file's first bytes (puremagic), not its name.
import asyncio
import logging
import os

from maxapi import Bot, Dispatcher, F
from maxapi.types import BotCommand, Command, MessageCreated
from maxapi.types.attachments.image import Image
from maxapi.types.input_media import InputMedia

logging.basicConfig(level=logging.INFO)

# Bot() reads the token from MAX_BOT_TOKEN.
bot = Bot()
bot.set_api_url(os.environ["MAX_API_URL"])
dp = Dispatcher()


# InputMedia in `attachments`: send_message uploads it, waits 2 s, then sends.
@dp.message_created(Command("photo"))
async def photo(event: MessageCreated):
    await event.message.answer(
        text="Фото", attachments=[InputMedia(path=os.environ["PHOTO"])]
    )


@dp.message_created(Command("doc"))
async def doc(event: MessageCreated):
    await event.message.answer(attachments=[InputMedia(path=os.environ["DOC"])])


# Uploaded ahead with upload_media, for the token get_video needs.
@dp.message_created(Command("video"))
async def video(event: MessageCreated):
    uploaded = await bot.upload_media(InputMedia(path=os.environ["VIDEO"]))
    info = await bot.get_video(uploaded.payload.token)
    text = "Видео" if info.urls and info.urls.mp4_720 else "no url"
    await event.message.answer(text=text, attachments=[uploaded])


@dp.message_created(Command("voice"))
async def voice(event: MessageCreated):
    await event.message.answer(
        text="Голос", attachments=[InputMedia(path=os.environ["VOICE"])]
    )


# Any other message with a photo: the received attachment goes back as it came.
@dp.message_created(F.message.body.attachments)
async def photo_back(event: MessageCreated):
    images = [a for a in event.message.body.attachments if isinstance(a, Image)]
    if images:
        await event.message.answer(text="Ваше фото", attachments=[images[0]])


async def main():
    await bot.set_commands(
        BotCommand(name="photo", description="Фото"),
        BotCommand(name="doc", description="Документ"),
        BotCommand(name="video", description="Видео"),
        BotCommand(name="voice", description="Голос"),
    )
    await dp.start_polling(bot)


if __name__ == "__main__":
    asyncio.run(main())
