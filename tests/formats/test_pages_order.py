"""Page selection and order: behavior.md section 4, as LANraragi's get_filelist does it."""

from __future__ import annotations

import pytest

from archives.formats import IMAGE_EXTENSIONS
from archives.formats import is_appledouble_junk
from archives.formats import is_page_name
from archives.formats import natural_key
from archives.formats import order_pages


@pytest.mark.parametrize(
    "name",
    ["001.jpg", "a.JPG", "x.Jpeg", "p.jfif", "p.png", "p.gif", "p.bmp", "p.webp", "p.avif", "p.heif", "p.heic",
     "p.jxl", "ch1/001.jpg", "a/b/c d.PNG", "._001.jpg", "__MACOSX/._x.jpg", "dir/.jpg"],
)  # fmt: skip
def test_it_takes_image_extensions_in_any_case_as_pages(name: str) -> None:
    assert is_page_name(name)


@pytest.mark.parametrize(
    "name",
    ["ComicInfo.xml", ".DS_Store", "notes.txt", "jpg", ".jpg", "a.", "page.", "dir.jpg/", "a.jpg/", "a.jpg.txt",
     "a.tiff", "a.svg", "ch1/", ""],
)  # fmt: skip
def test_it_refuses_other_names_bare_dots_and_directories(name: str) -> None:
    assert not is_page_name(name)


def test_image_extensions_are_the_documented_ones() -> None:
    assert {"png", "jpg", "jpeg", "jfif", "gif", "bmp", "webp", "avif", "heif", "heic", "jxl"} == IMAGE_EXTENSIONS


def test_natural_key_pads_digit_runs_to_four_and_lowercases() -> None:
    assert natural_key("Page7.JPG") == "page0007.jpg"
    assert natural_key("ch1/p002.jpg") == "ch0001/p0002.jpg"
    assert natural_key("img12345") == "img12345"
    assert natural_key("0000007") == "0007"
    assert natural_key("x0") == "x0000"


def test_natural_key_survives_absurdly_long_digit_runs() -> None:
    assert natural_key("9" * 5000 + ".jpg") == "9" * 5000 + ".jpg"


def test_digit_runs_sort_numerically() -> None:
    assert order_pages(["10.jpg", "2.jpg", "1.jpg", "100.jpg"]) == ["1.jpg", "2.jpg", "10.jpg", "100.jpg"]


def test_runs_longer_than_four_digits_keep_their_length() -> None:
    # "img12345" stays as is and "img9999" is already 4 digits: "1" < "9".
    assert order_pages(["img9999.jpg", "img12345.jpg"]) == ["img12345.jpg", "img9999.jpg"]


def test_zero_padding_is_normalised() -> None:
    assert order_pages(["p010.jpg", "p9.jpg", "p0001.jpg"]) == ["p0001.jpg", "p9.jpg", "p010.jpg"]


def test_the_key_is_the_whole_path_folders_included() -> None:
    names = ["ch10/1.jpg", "ch2/5.jpg", "ch2/10.jpg", "ch1/9.jpg", "a.jpg"]
    assert order_pages(names) == ["a.jpg", "ch1/9.jpg", "ch2/5.jpg", "ch2/10.jpg", "ch10/1.jpg"]


def test_order_ignores_case() -> None:
    assert order_pages(["B.jpg", "a.jpg", "C.jpg"]) == ["a.jpg", "B.jpg", "C.jpg"]


def test_equal_keys_keep_archive_order() -> None:
    assert order_pages(["P1.jpg", "p1.jpg", "p01.jpg"]) == ["P1.jpg", "p1.jpg", "p01.jpg"]


def test_keys_compare_by_code_point() -> None:
    # "_" (0x5f) sorts after digits and capitals but before lower-case letters.
    assert order_pages(["a.jpg", "_.jpg", "1.jpg"]) == ["1.jpg", "_.jpg", "a.jpg"]


def test_covers_go_first() -> None:
    assert order_pages(["001.jpg", "002.jpg", "zz_Cover.jpg"]) == ["zz_Cover.jpg", "001.jpg", "002.jpg"]


def test_cover_in_a_folder_name_counts() -> None:
    assert order_pages(["a/1.jpg", "z cover/x.jpg"]) == ["z cover/x.jpg", "a/1.jpg"]


@pytest.mark.parametrize(
    "name",
    ["backcover.jpg", "cover_back.jpg", "END cover.jpg", "rear-cover.jpg", "recover.jpg", "discover.jpg",
     "Back/cover.jpg", "the end/cover.jpg", "covers/rear.jpg", "Weekend cover.jpg"],
)  # fmt: skip
def test_covers_with_back_end_rear_recover_discover_anywhere_stay_in_place(name: str) -> None:
    assert order_pages(["0.jpg", name]) == sorted(["0.jpg", name], key=natural_key)


def test_covers_keep_their_own_natural_order() -> None:
    names = ["x.jpg", "cover10.jpg", "Cover2.jpg"]
    assert order_pages(names) == ["Cover2.jpg", "cover10.jpg", "x.jpg"]


@pytest.mark.parametrize(
    "name",
    ["end_card_save_file.jpg", "END_CARD_SAVE_FILE_2.png", "artist_info.jpg", "Artist_Info 1.jpg",
     "999nhnl.jpg", "999_credits.png", "credits.jpg", "ch1/Credit page.jpg", "zzcreditzz.png", "note.jpg",
     "Notes.png", "translator notes.jpg", "ch1/note.jpg", "footnote.jpg"],
)  # fmt: skip
def test_credit_pages_go_last(name: str) -> None:
    assert order_pages([name, "1.jpg", "2.jpg"])[-1] == name


@pytest.mark.parametrize(
    "name",
    ["ch1/999.jpg", "ch1/artist_info.jpg", "x_end_card_save_file.jpg", "note.jpg.bak/1.jpg", "notebook.jpg",
     "notes/001.jpg", "0999.jpg", "999.jpg", "9990.jpg"],
)  # fmt: skip
def test_credit_prefixes_test_the_whole_path_and_note_needs_its_extension(name: str) -> None:
    names = [name, "a1.jpg", "zz.jpg"]
    assert order_pages(names) == sorted(names, key=natural_key)


def test_credits_keep_their_own_natural_order() -> None:
    names = ["credits10.jpg", "b.jpg", "credits2.jpg", "a.jpg"]
    assert order_pages(names) == ["a.jpg", "b.jpg", "credits2.jpg", "credits10.jpg"]


def test_a_page_both_cover_and_credit_is_listed_once_as_a_cover() -> None:
    names = ["2.jpg", "cover credits.jpg", "1.jpg"]
    assert order_pages(names) == ["cover credits.jpg", "1.jpg", "2.jpg"]


def test_all_three_groups() -> None:
    names = ["note.jpg", "10.jpg", "cover.jpg", "2.jpg", "999_scan.jpg", "front cover.png", "1.jpg"]
    assert order_pages(names) == [
        "cover.jpg",
        "front cover.png",
        "1.jpg",
        "2.jpg",
        "10.jpg",
        "999_scan.jpg",
        "note.jpg",
    ]


APPLEDOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X"
APPLESINGLE = b"\x00\x05\x16\x00\x00\x02\x00\x00"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF"


@pytest.mark.parametrize("name", ["__MACOSX/._001.jpg", "__MACOSX/ch1/001.jpg", "._001.jpg", "ch1/._001.jpg",
                                  "x/__MACOSX/y.jpg"])  # fmt: skip
@pytest.mark.parametrize("head", [APPLEDOUBLE, APPLESINGLE])
def test_appledouble_files_are_junk(name: str, head: bytes) -> None:
    assert is_appledouble_junk(name, head)


@pytest.mark.parametrize("name", ["__MACOSX/._001.jpg", "._001.jpg", "__MACOSX/x.jpg"])
def test_real_images_under_macos_names_are_not_junk(name: str) -> None:
    assert not is_appledouble_junk(name, JPEG)


@pytest.mark.parametrize("name", ["001.jpg", "a._b.jpg", "__macosx/1.jpg", "my__MACOSX/1.jpg", "x.__MACOSX/1.jpg"])
def test_apple_magic_elsewhere_is_not_junk(name: str) -> None:
    assert not is_appledouble_junk(name, APPLEDOUBLE)


def test_short_heads_are_not_junk() -> None:
    assert not is_appledouble_junk("._1.jpg", b"\x00\x05")
    assert not is_appledouble_junk("._1.jpg", b"")
