# The README polling example of maxapi, unchanged but for the base URL and the bot's commands.
# Run: MAX_API_URL=http://127.0.0.1:<port>/bot-api/ MAX_BOT_TOKEN=<token> python echo.py
import asyncio
import logging
import os

from maxapi import Bot, Dispatcher, F
from maxapi.types import BotCommand, BotStarted, MessageCreated

logging.basicConfig(level=logging.INFO)

# Bot() reads the token from MAX_BOT_TOKEN.
bot = Bot()
bot.set_api_url(os.environ["MAX_API_URL"])
dp = Dispatcher()


@dp.bot_started()
async def bot_started(event: BotStarted):
    await bot.send_message(chat_id=event.chat_id, text=f"hello {event.payload or ''}")


@dp.message_created(F.message.body.text)
async def echo(event: MessageCreated):
    await event.message.answer(event.message.body.text)


async def main():
    await bot.set_commands(BotCommand(name="echo", description="Echo"))
    await dp.start_polling(bot)


if __name__ == "__main__":
    asyncio.run(main())
