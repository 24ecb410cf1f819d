"""Profile pictures: an uploaded image becomes a centred square avatar at a public, versioned URL."""

from __future__ import annotations

import io

from PIL import Image
from tests.api.test_accounts import error_code
from tests.api.test_attachments import uploaded
from tests.conftest import Api


def wide_png(centre: tuple[int, int, int] = (0, 0, 255)) -> bytes:
    """600 x 300: red on the left and right quarters, `centre` in the middle square."""
    image = Image.new("RGB", (600, 300), (255, 0, 0))
    image.paste(centre, (150, 0, 450, 300))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def test_an_uploaded_image_becomes_a_square_avatar_everyone_can_see(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    file = await uploaded(api, alice, wide_png(), name="me.png")
    r = await api.put(alice, "/api/v1/me/avatar", {"attachment_id": file["id"]})
    assert r.status_code == 200, r.text
    url = r.json()["member"]["avatar_url"]
    assert url.startswith("/avatars/img/")
    assert (await api.get(bob, f"/api/v1/members/{alice.handle}")).json()["member"]["avatar_url"] == url

    picture = await api.get(None, url)  # like every avatar: no token needed
    assert picture.status_code == 200
    assert picture.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(picture.content)) as square:
        assert square.size == (256, 256)
        assert square.convert("RGB").getpixel((5, 128)) == (0, 0, 255)  # the centre, not the red sides

    # a new picture gets a new URL; the old one is gone
    again = await uploaded(api, alice, wide_png(centre=(0, 128, 0)), name="me2.png")
    changed = await api.put(alice, "/api/v1/me/avatar", {"attachment_id": again["id"]})
    assert changed.status_code == 200
    assert changed.json()["member"]["avatar_url"] != url
    assert (await api.get(None, url)).status_code == 404
    assert (await api.get(None, changed.json()["member"]["avatar_url"])).status_code == 200
    removed = await api.delete(alice, "/api/v1/me/avatar")
    assert removed.json()["member"]["avatar_url"] == f"/avatars/{alice.handle}.svg"


async def test_only_ones_own_images_can_become_an_avatar(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    bobs = await uploaded(api, bob, wide_png(), name="bob.png")
    r = await api.put(alice, "/api/v1/me/avatar", {"attachment_id": bobs["id"]})
    assert r.status_code == 404
    pdf = await uploaded(api, alice, b"%PDF-1.4\n%%EOF\n", name="cv.pdf")
    r = await api.put(alice, "/api/v1/me/avatar", {"attachment_id": pdf["id"]})
    assert r.status_code == 422
    assert error_code(r) == "avatar_not_an_image"
    for bad in ("x", "99999999", "-1"):
        assert (await api.put(alice, "/api/v1/me/avatar", {"attachment_id": bad})).status_code == 404
    assert (await api.put(None, "/api/v1/me/avatar", {"attachment_id": pdf["id"]})).status_code == 401
    assert (await api.get(None, "/avatars/img/1/nope.png")).status_code == 404
    assert (await api.get(None, "/avatars/img/abc/nope.png")).status_code == 404
