# echo.py served by webhook instead of polling, as maxapi's README webhook example
# (`dp.handle_webhook`, aiohttp) and examples/09_webhook_bot.py (`bot.subscribe_webhook` in
# `on_started`, with a secret) write it; plain http on 127.0.0.1 for the test.
# Run: MAX_API_URL=http://127.0.0.1:<port>/bot-api/ MAX_BOT_TOKEN=<token> WEBHOOK_PORT=<free port>
#      WEBHOOK_SECRET=<5-256 of A-Z a-z 0-9 -> python webhook.py
import asyncio
import logging
import os

from maxapi import Bot, Dispatcher, F
from maxapi.types import BotCommand, BotStarted, MessageCreated

logging.basicConfig(level=logging.INFO)

WEBHOOK_PORT = int(os.environ["WEBHOOK_PORT"])
WEBHOOK_SECRET = os.environ["WEBHOOK_SECRET"]
WEBHOOK_PATH = "/hook"

# Bot() reads the token from MAX_BOT_TOKEN.
bot = Bot()
bot.set_api_url(os.environ["MAX_API_URL"])
dp = Dispatcher()


# Runs in the receiver's start-up hook, just before it starts listening.
@dp.on_started()
async def subscribe():
    await bot.subscribe_webhook(
        url=f"http://127.0.0.1:{WEBHOOK_PORT}{WEBHOOK_PATH}", secret=WEBHOOK_SECRET
    )


@dp.bot_started()
async def bot_started(event: BotStarted):
    await bot.send_message(chat_id=event.chat_id, text=f"hello {event.payload or ''}")


@dp.message_created(F.message.body.text)
async def echo(event: MessageCreated):
    await event.message.answer(event.message.body.text)


async def main():
    await bot.set_commands(BotCommand(name="echo", description="Echo"))
    await dp.handle_webhook(
        bot, host="127.0.0.1", port=WEBHOOK_PORT, path=WEBHOOK_PATH, secret=WEBHOOK_SECRET
    )


if __name__ == "__main__":
    asyncio.run(main())
