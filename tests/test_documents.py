"""Agenda documents through the API: upload and refusals, dedup, versions, watermarked
copies, Range and ETag, page images, access scope, search, receipts, the pack, tracing."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from server.settings import Settings
from tests import pdfs
from tests.province import Province

Files = dict[str, Any]


async def upload(
    province: Province, meeting_id: int, data: bytes, role: str = "secretary", **fields: Any
) -> httpx.Response:
    return await province.client.post(
        f"/api/meetings/{meeting_id}/documents",
        headers=province.auth(role),
        files={"file": ("bao-cao.pdf", data, "application/pdf")},
        data={k: str(v) for k, v in fields.items()},
    )


def stored_blobs(settings: Settings) -> list[Path]:
    root = settings.data_dir / "blobs"
    return sorted(p for p in (root / "sha256").rglob("*") if p.is_file()) + sorted(
        p for p in (root / "tmp").iterdir()
    )


@pytest.fixture
async def meeting(province: Province) -> tuple[int, list[int]]:
    """Two points of Xã Tân Phú and the official invited, scheduled, not started."""
    return await province.live_meeting(points=2, start=False, usernames=["official"])


async def test_a_secretary_uploads_and_every_invited_point_gets_its_own_copy(
    province: Province, meeting: tuple[int, list[int]], settings: Settings
) -> None:
    mid, points = meeting
    pages = ["Báo cáo tình hình tháng 11", "Dự toán ngân sách năm 2027", "Kết luận"]
    created = await upload(province, mid, pdfs.pdf(pages, title="Báo cáo tháng 11"))
    assert created.status_code == 201, created.text
    document = created.json()
    assert document["title"] == "Báo cáo tháng 11"
    assert document["pages"] == 3
    assert document["current_version"] == 1
    assert document["scope"] == "invited"

    device = await province.device(points[0])
    listed = await province.client.get(f"/api/meetings/{mid}/documents", headers=device)
    assert [d["id"] for d in listed.json()] == [document["id"]]

    copy = await province.client.get(document["download_url"], headers=device)
    assert copy.status_code == 200
    assert copy.headers["content-type"] == "application/pdf"
    texts = pdfs.page_texts(copy.content)
    assert len(texts) == 3
    for original, text in zip(pages, texts, strict=True):
        assert original in text
        assert "Xã Tân Phú" in text  # the watermark names the point's unit on every page
        assert " — " in text
    identifier = PdfReader(io.BytesIO(copy.content)).metadata["/HoinghiCopy"]

    traced = await province.client.post(
        "/api/documents/trace",
        headers=province.auth("secretary"),
        files={"file": ("leaked.pdf", copy.content, "application/pdf")},
    )
    assert traced.status_code == 200, traced.text
    assert traced.json()["identifier"] == identifier
    assert traced.json()["recipient"] == {
        "kind": "point",
        "id": points[0],
        "name": traced.json()["recipient"]["name"],
    }
    assert traced.json()["version"] == 1

    # A copy removed from the cache is made again for the same recipient, same identifier.
    for cached in (settings.data_dir / "blobs" / "derived" / "copies").iterdir():
        cached.unlink()
    again = await province.client.get(document["download_url"], headers=device)
    assert PdfReader(io.BytesIO(again.content)).metadata["/HoinghiCopy"] == identifier

    # Another point's copy is its own: another identifier, another label.
    other = await province.client.get(
        document["download_url"], headers=await province.device(points[1])
    )
    assert PdfReader(io.BytesIO(other.content)).metadata["/HoinghiCopy"] != identifier


async def test_the_same_file_is_stored_once_and_new_versions_keep_the_old(
    province: Province, meeting: tuple[int, list[int]], settings: Settings
) -> None:
    mid, points = meeting
    data = pdfs.pdf(2)
    first = (await upload(province, mid, data)).json()
    second = (await upload(province, mid, data, title="Bản sao")).json()
    assert first["versions"][0]["sha256"] == second["versions"][0]["sha256"]
    assert len([p for p in stored_blobs(settings) if "sha256" in p.parts]) == 1

    newer = await province.client.post(
        f"/api/documents/{first['id']}/versions",
        headers=province.auth("secretary"),
        files={
            "file": ("v2.pdf", pdfs.pdf(["Bản sửa đổi", "Trang 2", "Trang 3"]), "application/pdf")
        },
    )
    assert newer.status_code == 201, newer.text
    assert [v["number"] for v in newer.json()["versions"]] == [1, 2]
    assert newer.json()["current_version"] == 2
    assert newer.json()["pages"] == 3

    device = await province.device(points[0])
    old = await province.client.get(
        f"/api/documents/{first['id']}/download?version=1", headers=device
    )
    assert len(pdfs.page_texts(old.content)) == 2
    missing = await province.client.get(
        f"/api/documents/{first['id']}/download?version=9", headers=device
    )
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("data", "code", "status"),
    [
        (b"GIF89a not a pdf at all, renamed to .pdf" * 10, "not_pdf", 422),
        (b"", "not_pdf", 422),
        (pdfs.encrypted(), "pdf_encrypted", 422),
        (pdfs.truncated(), "pdf_corrupt", 422),
        (pdfs.bomb(), "pdf_bomb", 422),
    ],
    ids=["not-pdf", "empty", "encrypted", "truncated", "bomb"],
)
async def test_bad_files_are_refused_with_a_reason_and_nothing_is_stored(
    province: Province,
    meeting: tuple[int, list[int]],
    settings: Settings,
    data: bytes,
    code: str,
    status: int,
) -> None:
    mid, _ = meeting
    before = stored_blobs(settings)
    refused = await upload(province, mid, data)
    assert refused.status_code == status, refused.text
    assert refused.json()["code"] == code
    assert refused.json()["detail"]
    assert stored_blobs(settings) == before
    listed = await province.client.get(
        f"/api/meetings/{mid}/documents", headers=province.auth("secretary")
    )
    assert listed.json() == []


async def test_size_and_page_limits(
    province: Province, meeting: tuple[int, list[int]], settings: Settings
) -> None:
    mid, _ = meeting
    settings.max_pdf_pages = 4
    too_long = await upload(province, mid, pdfs.pdf(5))
    assert too_long.status_code == 422
    assert too_long.json()["code"] == "pdf_too_many_pages"
    assert "5 pages" in too_long.json()["detail"]

    settings.max_upload_mb = 1
    big = pdfs.pdf(2) + b"%" + b"0" * (1024 * 1024 + 10)  # junk after %%EOF still parses
    too_big = await upload(province, mid, big)
    assert too_big.status_code == 413
    assert too_big.json()["code"] == "too_large"
    assert [p for p in stored_blobs(settings)] == []


async def test_owner_protected_pdfs_open_without_a_password_and_are_accepted(
    province: Province, meeting: tuple[int, list[int]]
) -> None:
    mid, points = meeting
    created = await upload(province, mid, pdfs.owner_protected())
    assert created.status_code == 201, created.text
    copy = await province.client.get(
        created.json()["download_url"], headers=await province.device(points[0])
    )
    assert "Văn bản có bảo vệ" in pdfs.page_texts(copy.content)[0]


async def test_only_organizers_upload(province: Province, meeting: tuple[int, list[int]]) -> None:
    mid, points = meeting
    as_official = await upload(province, mid, pdfs.pdf(1), role="official")
    assert as_official.status_code == 403
    as_point = await province.client.post(
        f"/api/meetings/{mid}/documents",
        headers=await province.device(points[0]),
        files={"file": ("x.pdf", pdfs.pdf(1), "application/pdf")},
    )
    assert as_point.status_code == 403
    not_multipart = await province.client.post(
        f"/api/meetings/{mid}/documents", headers=province.auth("secretary"), json={"file": "x"}
    )
    assert not_multipart.status_code == 415
    no_file = await province.client.post(
        f"/api/meetings/{mid}/documents",
        headers=province.auth("secretary"),
        files={"other": ("x.pdf", pdfs.pdf(1), "application/pdf")},
    )
    assert no_file.status_code == 422
    assert no_file.json()["errors"][0]["field"] == "file"
    anonymous = await province.client.get(f"/api/meetings/{mid}/documents")
    assert anonymous.status_code == 401


async def test_range_requests_resume_a_download_and_etags_answer_304(
    province: Province, meeting: tuple[int, list[int]]
) -> None:
    mid, points = meeting
    document = (await upload(province, mid, pdfs.pdf(4))).json()
    device = await province.device(points[0])
    whole = await province.client.get(document["download_url"], headers=device)
    etag = whole.headers["etag"]
    assert whole.headers["accept-ranges"] == "bytes"

    head = await province.client.get(
        document["download_url"], headers={**device, "Range": "bytes=0-99"}
    )
    assert head.status_code == 206
    assert head.content == whole.content[:100]
    rest = await province.client.get(
        document["download_url"], headers={**device, "Range": "bytes=100-", "If-Range": etag}
    )
    assert rest.status_code == 206
    assert head.content + rest.content == whole.content

    again = await province.client.get(
        document["download_url"], headers={**device, "If-None-Match": etag}
    )
    assert again.status_code == 304
    assert again.content == b""


async def test_page_images_are_webp_cached_with_etags(
    province: Province, meeting: tuple[int, list[int]]
) -> None:
    mid, points = meeting
    document = (await upload(province, mid, pdfs.pdf(2))).json()
    device = await province.device(points[0])
    url = f"{document['pages_url']}1.webp"
    image = await province.client.get(url, params={"width": 300}, headers=device)
    assert image.status_code == 200, image.text
    assert image.headers["content-type"] == "image/webp"
    assert image.content[:4] == b"RIFF" and image.content[8:12] == b"WEBP"
    from PIL import Image

    picture = Image.open(io.BytesIO(image.content))
    assert picture.width == 320  # rounded up to a step, so a few sizes are cached, not all
    assert picture.height > picture.width  # A4, upright
    cached = await province.client.get(
        url, params={"width": 300}, headers={**device, "If-None-Match": image.headers["etag"]}
    )
    assert cached.status_code == 304
    beyond = await province.client.get(f"{document['pages_url']}3.webp", headers=device)
    assert beyond.status_code == 404


async def test_named_documents_are_read_only_by_those_named(
    province: Province, meeting: tuple[int, list[int]]
) -> None:
    mid, points = meeting
    document = (await upload(province, mid, pdfs.pdf(1), scope="named")).json()
    assert document["scope"] == "named"
    named = await province.client.put(
        f"/api/documents/{document['id']}/readers",
        headers=province.auth("secretary"),
        json={"point_ids": [points[0]]},
    )
    assert named.status_code == 200, named.text
    assert [r["id"] for r in named.json()["readers"]] == [points[0]]

    reader = await province.device(points[0])
    outsider = await province.device(points[1])
    assert (await province.client.get(document["download_url"], headers=reader)).status_code == 200
    refused = await province.client.get(document["download_url"], headers=outsider)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    page = await province.client.get(f"{document['pages_url']}1.webp", headers=outsider)
    assert page.status_code == 403
    listed = await province.client.get(f"/api/meetings/{mid}/documents", headers=outsider)
    assert listed.json() == []
    listed = await province.client.get(f"/api/meetings/{mid}/documents", headers=reader)
    assert listed.json()[0]["readers"] is None  # readers see the document, not the list


async def test_confidential_meetings_default_to_named_readers(province: Province) -> None:
    meeting = await province.meeting(classification="confidential")
    created = await upload(province, meeting["id"], pdfs.pdf(1))
    assert created.json()["scope"] == "named"


async def test_search_finds_pages_with_and_without_diacritics(
    province: Province, meeting: tuple[int, list[int]]
) -> None:
    mid, points = meeting
    await upload(
        province,
        mid,
        pdfs.pdf(["Mở đầu", "Dự toán ngân sách xã năm 2027", "Đầu tư công"]),
        title="Tờ trình",
    )
    device = await province.device(points[0])
    for query in ("ngân sách", "ngan sach", "NGÂN SÁCH", "dau tu"):
        found = await province.client.get(
            f"/api/meetings/{mid}/search", params={"q": query}, headers=device
        )
        assert found.status_code == 200
        assert [hit["page"] for hit in found.json()] in ([2], [3]), (query, found.json())
    hit = (
        await province.client.get(
            f"/api/meetings/{mid}/search", params={"q": "ngan sach"}, headers=device
        )
    ).json()[0]
    assert hit["title"] == "Tờ trình"
    assert "ngân sách" in hit["snippet"]
    none = await province.client.get(
        f"/api/meetings/{mid}/search", params={"q": "không có chữ này"}, headers=device
    )
    assert none.json() == []


async def test_receipts_show_who_has_the_current_version(
    province: Province, meeting: tuple[int, list[int]]
) -> None:
    mid, points = meeting
    document = (await upload(province, mid, pdfs.pdf(2))).json()
    first = await province.device(points[0])
    second = await province.device(points[1])
    await province.client.get(document["download_url"], headers=first)
    await province.client.get(f"{document['pages_url']}1.webp", headers=second)

    matrix = (
        await province.client.get(
            f"/api/meetings/{mid}/receipts", headers=province.auth("secretary")
        )
    ).json()
    assert [d["id"] for d in matrix["documents"]] == [document["id"]]
    cells = {row["id"]: row["cells"][0] for row in matrix["rows"] if row["kind"] == "point"}
    assert cells[points[0]]["version"] == 1 and cells[points[0]]["current"]
    assert cells[points[1]]["version"] == 1 and cells[points[1]]["current"]
    official = province.accounts["official"].id
    # Who lacks the current version comes first.
    assert (matrix["rows"][0]["kind"], matrix["rows"][0]["id"]) == ("user", official)
    assert matrix["rows"][0]["cells"][0]["version"] is None

    await province.client.post(
        f"/api/documents/{document['id']}/versions",
        headers=province.auth("secretary"),
        files={"file": ("v2.pdf", pdfs.pdf(3), "application/pdf")},
    )
    await province.client.get(
        f"/api/documents/{document['id']}/download", headers=second
    )  # the new version
    matrix = (
        await province.client.get(
            f"/api/meetings/{mid}/receipts", headers=province.auth("secretary")
        )
    ).json()
    cells = {row["id"]: row["cells"][0] for row in matrix["rows"] if row["kind"] == "point"}
    assert cells[points[0]] == {**cells[points[0]], "version": 1, "current": False}
    assert cells[points[1]]["version"] == 2 and cells[points[1]]["current"]
    assert [row["id"] for row in matrix["rows"]][-1] == points[1]

    as_point = await province.client.get(f"/api/meetings/{mid}/receipts", headers=first)
    assert as_point.status_code == 403

    # A document named for one point is not missing for the others.
    await province.client.patch(
        f"/api/documents/{document['id']}",
        headers=province.auth("secretary"),
        json={"scope": "named"},
    )
    await province.client.put(
        f"/api/documents/{document['id']}/readers",
        headers=province.auth("secretary"),
        json={"point_ids": [points[0]]},
    )
    matrix = (
        await province.client.get(
            f"/api/meetings/{mid}/receipts", headers=province.auth("secretary")
        )
    ).json()
    rows = {(row["kind"], row["id"]): row for row in matrix["rows"]}
    assert rows[("point", points[1])]["cells"][0]["shared"] is False
    assert rows[("point", points[1])]["missing"] == 0
    assert rows[("point", points[0])]["missing"] == 1  # has version 1 of 2


async def test_the_agenda_pack_has_a_cover_bookmarks_and_every_page_watermarked(
    province: Province, meeting: tuple[int, list[int]]
) -> None:
    mid, points = meeting
    secretary = province.auth("secretary")
    items = []
    for title in ("Khai mạc", "Báo cáo kinh tế - xã hội"):
        made = await province.client.post(
            f"/api/meetings/{mid}/agenda", headers=secretary, json={"title": title}
        )
        items.append(made.json()["id"])
    await upload(
        province,
        mid,
        pdfs.pdf(["Báo cáo A1", "Báo cáo A2"]),
        title="Báo cáo",
        agenda_item_id=items[1],
    )
    await upload(
        province, mid, pdfs.pdf(["Diễn văn khai mạc"]), title="Diễn văn", agenda_item_id=items[0]
    )
    await upload(province, mid, pdfs.pdf(["Phụ lục"]), title="Phụ lục")
    bad_item = await upload(province, mid, pdfs.pdf(1), agenda_item_id=999_999)
    assert bad_item.status_code == 422

    device = await province.device(points[0])
    packed = await province.client.get(f"/api/meetings/{mid}/pack.pdf", headers=device)
    assert packed.status_code == 200, packed.text
    reader = PdfReader(io.BytesIO(packed.content))
    texts = [page.extract_text() for page in reader.pages]
    assert len(texts) == 1 + 1 + 2 + 1
    assert "Chương trình" in texts[0] and "1. Khai mạc" in texts[0]
    assert "Diễn văn khai mạc" in texts[1]
    assert "Báo cáo A1" in texts[2] and "Báo cáo A2" in texts[3]
    assert "Phụ lục" in texts[4]
    assert all("Xã Tân Phú" in text for text in texts)
    outline = [
        item.title if not isinstance(item, list) else [i.title for i in item]
        for item in reader.outline
    ]
    assert outline == [
        "Chương trình",
        "1. Khai mạc",
        ["Diễn văn"],
        "2. Báo cáo kinh tế - xã hội",
        ["Báo cáo"],
        "Tài liệu khác",
        ["Phụ lục"],
    ]
    again = await province.client.get(f"/api/meetings/{mid}/pack.pdf", headers=device)
    assert again.content == packed.content  # cached per recipient

    matrix = (await province.client.get(f"/api/meetings/{mid}/receipts", headers=secretary)).json()
    row = next(r for r in matrix["rows"] if r["kind"] == "point" and r["id"] == points[0])
    assert row["missing"] == 0


async def test_documents_are_attached_to_agenda_items_moved_and_ordered(
    province: Province, meeting: tuple[int, list[int]]
) -> None:
    mid, _ = meeting
    secretary = province.auth("secretary")
    item = (
        await province.client.post(
            f"/api/meetings/{mid}/agenda", headers=secretary, json={"title": "Thảo luận"}
        )
    ).json()["id"]
    first = (await upload(province, mid, pdfs.pdf(1), title="Một")).json()
    second = (await upload(province, mid, pdfs.pdf(1), title="Hai")).json()
    third = (await upload(province, mid, pdfs.pdf(1), title="Ba", agenda_item_id=item)).json()

    async def titles() -> list[str]:
        listed = await province.client.get(f"/api/meetings/{mid}/documents", headers=secretary)
        return [d["title"] for d in listed.json()]

    assert await titles() == ["Ba", "Một", "Hai"]  # items first, in agenda order
    moved = await province.client.patch(
        f"/api/documents/{second['id']}",
        headers=secretary,
        json={"agenda_item_id": item, "title": "Hai (sửa)", "scope": "named"},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["agenda_item_id"] == item and moved.json()["scope"] == "named"
    assert await titles() == ["Ba", "Hai (sửa)", "Một"]

    ordered = await province.client.post(
        f"/api/meetings/{mid}/documents/order",
        headers=secretary,
        json={"document_ids": [second["id"], third["id"], first["id"]]},
    )
    assert ordered.status_code == 200, ordered.text
    assert [d["title"] for d in ordered.json()] == ["Hai (sửa)", "Ba", "Một"]
    incomplete = await province.client.post(
        f"/api/meetings/{mid}/documents/order",
        headers=secretary,
        json={"document_ids": [second["id"]]},
    )
    assert incomplete.status_code == 422
    unknown_field = await province.client.patch(
        f"/api/documents/{first['id']}", headers=secretary, json={"colour": "red"}
    )
    assert unknown_field.status_code == 422
    elsewhere = await province.client.patch(
        f"/api/documents/{first['id']}", headers=secretary, json={"agenda_item_id": 999_999}
    )
    assert elsewhere.status_code == 422

    # Deleting the agenda item keeps its documents, now on no item.
    gone = await province.client.delete(f"/api/meetings/{mid}/agenda/{item}", headers=secretary)
    assert gone.status_code == 204
    assert sorted(await titles()) == sorted(["Hai (sửa)", "Ba", "Một"])

    # After the meeting has ended, the documents no longer change.
    await province.step(mid, "start", role="chair")
    await province.step(mid, "end", role="chair")
    late = await upload(province, mid, pdfs.pdf(1))
    assert late.status_code == 409
    assert late.json()["code"] == "meeting_not_editable"


async def test_a_burst_of_cold_downloads_does_not_starve_the_database_pool(
    province: Province,
) -> None:
    """More first-time copies at once than the pool has connections (5 + 10): each is
    watermarked without holding one, and other requests go on meanwhile."""
    meeting = await province.meeting()
    mid = meeting["id"]
    invited = await province.invite(mid, unit_ids=[province.units["hoa-son"]])
    points = [row["point_id"] for row in invited.json()["added"]][:24]
    assert (await province.step(mid, "schedule")).status_code == 200
    document = (await upload(province, mid, pdfs.pdf(3))).json()
    devices = [await province.device(point) for point in points]

    async def fetch(device: dict[str, str]) -> int:
        answer = await province.client.get(document["download_url"], headers=device)
        return answer.status_code

    async with asyncio.timeout(60):
        statuses = await asyncio.gather(
            *(fetch(device) for device in devices),
            province.client.get("/api/meetings", headers=province.auth("chair")),
        )
    assert statuses[:-1] == [200] * len(devices)
    assert statuses[-1].status_code == 200  # type: ignore[attr-defined]
