"""Register, sign in and out, and resolve a bearer token to a member."""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any, NoReturn

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError

from rapport.domain.errors import Conflict, Invalid, NotPermitted, Unauthorized
from rapport.domain.limits import HANDLE_MAX, HANDLE_MIN, NAME_MAX, PASSWORD_MAX, PASSWORD_MIN
from rapport.domain.model import Member
from rapport.services.context import Context
from rapport.services.rate_limits import Action
from rapport.services.sessions import end_sessions
from rapport.store import members, reports

UNKNOWN_ADDRESS = "unknown"
HANDLE = re.compile(rf"^[a-z0-9][a-z0-9_.-]{{{HANDLE_MIN - 1},{HANDLE_MAX - 1}}}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s.]{2,63}$")


@dataclass(frozen=True)
class Session:
    member: Member
    token: str


def hasher(ctx: Context) -> PasswordHasher:
    return PasswordHasher(time_cost=ctx.settings.password_time_cost, memory_cost=ctx.settings.password_memory_cost)


def token_hash(token: str) -> str:
    """Tokens are stored hashed: a leaked table gives no one a session."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "rp_" + secrets.token_urlsafe(32)


def normalise_handle(handle: str) -> str:
    handle = handle.strip().lower()
    if not HANDLE.match(handle):
        raise Invalid(
            f"A handle has {HANDLE_MIN}-{HANDLE_MAX} characters: letters, digits, '_', '.' or '-'.",
            code="invalid_handle",
        )
    return handle


def check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > NAME_MAX:
        raise Invalid(f"A name has 1-{NAME_MAX} characters.", code="invalid_name")
    return name


async def register(
    ctx: Context, *, handle: str, name: str, email: str, password: str, address: str = UNKNOWN_ADDRESS
) -> Session:
    """Create a member and open their first session (a limited number per client address)."""
    await ctx.limits.hit(Action.REGISTRATION, address)
    handle = normalise_handle(handle)
    name = check_name(name)
    email = email.strip().lower()
    if not EMAIL.match(email):
        raise Invalid("That is not an e-mail address.", code="invalid_email")
    check_password(password)
    password_hash = await asyncio.to_thread(hasher(ctx).hash, password)
    token = new_token()
    now = ctx.clock.now()
    try:
        async with ctx.db.write() as conn:
            taken = await members.handle_or_email_taken(conn, handle=handle, email=email)
            if taken:
                raise Conflict(f"That {taken} is already taken.", code=f"{taken}_taken")
            member_id = await members.add(
                conn, handle=handle, email=email, password_hash=password_hash, name=name, at=now
            )
            await members.add_token(conn, token_hash=token_hash(token), member_id=member_id, at=now)
            member = await members.get(conn, member_id=member_id)
    except IntegrityError as exc:  # two registrations raced for the same handle or e-mail
        raise Conflict("That handle or e-mail is already taken.", code="handle_taken") from exc
    assert member is not None
    return Session(member, token)


_DUMMY_HASH: dict[int, str] = {}


async def login(ctx: Context, *, login: str, password: str, address: str = UNKNOWN_ADDRESS) -> Session:
    """Open a session for a handle or e-mail and password; one answer for every failure.

    Failed attempts are limited per account and per client address: once either is spent,
    even the right password waits (else guessing would simply go on).
    """
    async with ctx.db.read() as conn:
        found = await members.get_credentials(conn, login=login)
    # An unknown login is limited like an account, so limits do not tell who is a member.
    account = f"member:{found[0]}" if found else f"login:{login.strip().lower()}"
    await ctx.limits.check(Action.LOGIN_FAILURE_ACCOUNT, account)
    await ctx.limits.check(Action.LOGIN_FAILURE_ADDRESS, address)
    ph = hasher(ctx)
    if found is None:
        # Spend the same time as a real check, so timing does not reveal who is a member.
        key = id(ph)
        if key not in _DUMMY_HASH:
            _DUMMY_HASH[key] = await asyncio.to_thread(ph.hash, secrets.token_hex(8))
        await asyncio.to_thread(_verify, ph, _DUMMY_HASH[key], password)
        await _failed(ctx, account, address)
    member_id, stored = found
    if not await asyncio.to_thread(_verify, ph, stored, password):
        await _failed(ctx, account, address)
    token = new_token()
    async with ctx.db.write() as conn:
        # Told only to whoever knows the password, in the transaction that would open the session.
        if await reports.is_suspended(conn, member_id=member_id):
            raise NotPermitted("This account is suspended.", code="suspended")
        if ph.check_needs_rehash(stored):
            new_hash = ph.hash(password)
            await members.save_password_hash(conn, member_id=member_id, password_hash=new_hash)
        await members.add_token(conn, token_hash=token_hash(token), member_id=member_id, at=ctx.clock.now())
        member = await members.get(conn, member_id=member_id)
    assert member is not None
    return Session(member, token)


async def _failed(ctx: Context, account: str, address: str) -> NoReturn:
    await ctx.limits.hit(Action.LOGIN_FAILURE_ACCOUNT, account)
    await ctx.limits.hit(Action.LOGIN_FAILURE_ADDRESS, address)
    raise Unauthorized("Wrong login or password.", code="invalid_credentials")


def _verify(ph: PasswordHasher, stored: str, password: str) -> bool:
    try:
        return ph.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


async def logout(ctx: Context, viewer: Member, *, token: str, everywhere: bool = False) -> None:
    """End this session (its sockets close too), or every session of the member."""
    hashed = token_hash(token)
    async with ctx.db.write() as conn:
        if everywhere:
            await members.delete_tokens(conn, member_id=viewer.id)
        else:
            await members.delete_token(conn, token_hash=hashed)
    await end_sessions(ctx, viewer.id, token=None if everywhere else hashed)


async def change_password(ctx: Context, viewer: Member, *, token: str, current: str, new: str) -> None:
    """Set a new password; every other session of the member ends, this one stays."""
    check_password(new)
    await verify_password(ctx, viewer, current)
    ph = hasher(ctx)
    new_hash = await asyncio.to_thread(ph.hash, new)
    kept = token_hash(token)
    async with ctx.db.write() as conn:
        await members.save_password_hash(conn, member_id=viewer.id, password_hash=new_hash)
        await members.delete_tokens(conn, member_id=viewer.id, keep=kept)
    await end_sessions(ctx, viewer.id, keep=kept)


async def verify_password(ctx: Context, viewer: Member, password: str) -> None:
    """Refuse unless `password` is the member's (before something that cannot be undone).

    A wrong one counts as a failed sign-in of the account: a stolen session must not become
    a way to guess the password.
    """
    account = f"member:{viewer.id}"
    await ctx.limits.check(Action.LOGIN_FAILURE_ACCOUNT, account)
    async with ctx.db.read() as conn:
        found = await members.get_credentials_by_id(conn, member_id=viewer.id)
    if found is None or not await asyncio.to_thread(_verify, hasher(ctx), found, password):
        await ctx.limits.hit(Action.LOGIN_FAILURE_ACCOUNT, account)
        raise NotPermitted("The password is not right.", code="wrong_password")


def check_password(password: str) -> None:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise Invalid(f"A password has {PASSWORD_MIN}-{PASSWORD_MAX} characters.", code="weak_password")


async def authenticate(ctx: Context, *, token: str) -> Member:
    """The member a bearer token belongs to: from this process's cache, else the store."""
    hashed = token_hash(token)
    member = ctx.sessions.cached(hashed)
    if member is not None:
        return member
    generation = ctx.sessions.generation
    member = await members.member_for_token(ctx.db, token_hash=hashed)
    if member is None:
        raise Unauthorized("Sign in again: that token is not valid.", code="invalid_token")
    ctx.sessions.remember(hashed, member, generation=generation)
    return member


def profile_fields(changes: dict[str, Any]) -> dict[str, Any]:
    """The profile fields a member may change, checked."""
    out: dict[str, Any] = {}
    for key in ("name", "headline", "industry", "location"):
        if key in changes and changes[key] is not None:
            value = str(changes[key]).strip()
            if key == "name":
                value = check_name(value)
            elif len(value) > 200:
                raise Invalid(f"{key} may have at most 200 characters.", code="invalid_profile")
            out[key] = value
    return out
