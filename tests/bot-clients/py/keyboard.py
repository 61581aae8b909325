# An inline-keyboard bot as maxapi's keyboard guide and examples/03_keyboard_bot.py write one,
# unchanged but for the base URL.
# Run: MAX_API_URL=http://127.0.0.1:<port>/bot-api/ MAX_BOT_TOKEN=<token> python keyboard.py
import asyncio
import logging
import os

from maxapi import Bot, Dispatcher, F
from maxapi.types import (
    BotCommand,
    CallbackButton,
    Command,
    LinkButton,
    MessageCallback,
    MessageCreated,
)
from maxapi.utils.inline_keyboard import InlineKeyboardBuilder

logging.basicConfig(level=logging.INFO)

# Bot() reads the token from MAX_BOT_TOKEN.
bot = Bot()
bot.set_api_url(os.environ["MAX_API_URL"])
dp = Dispatcher()


def trip_keyboard():
    builder = InlineKeyboardBuilder()
    builder.row(
        CallbackButton(text="Да", payload="yes"),
        CallbackButton(text="Нет", payload="no"),
    )
    builder.row(LinkButton(text="Программа", url="https://example.org/trip"))
    return builder.as_markup()


@dp.message_created(Command("menu"))
@dp.message_created(F.message.body.text == "menu")
async def menu(event: MessageCreated):
    await event.message.answer(
        text="Пойдёте на экскурсию?", attachments=[trip_keyboard()]
    )


# An empty `attachments` removes the keyboard; None would keep it.
@dp.message_callback(F.callback.payload == "yes")
async def going(event: MessageCallback):
    await event.answer(
        notification="Записали: да",
        new_text="Вы идёте на экскурсию",
        attachments=[],
    )


@dp.message_callback(F.callback.payload == "no")
async def not_going(event: MessageCallback):
    await event.answer(notification="Записали: нет")


async def main():
    await bot.set_commands(BotCommand(name="menu", description="Меню"))
    await dp.start_polling(bot)


if __name__ == "__main__":
    asyncio.run(main())
