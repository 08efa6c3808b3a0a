"""Read the pages of a PDF that Chromium printed (tests/browser/test_print.py): how many, and the
text on each, with the standard library alone (no PDF package is installed)."""

import re
import zlib


def page_count(pdf: bytes) -> int:
    """The page objects (/Type /Page, not the /Pages tree's nodes)."""
    return len(re.findall(rb"/Type\s*/Page\b", pdf))


def pdf_page_texts(pdf: bytes) -> list[str]:
    """The text of each page of a PDF as Chromium (Skia) writes it: Type0 fonts with ToUnicode
    maps, text shown by Tj and TJ with hex strings. Enough to find words on a page."""
    objects = {int(number): body for number, body in re.findall(rb"(\d+) 0 obj(.*?)endobj", pdf, re.S)}
    starts = {int(found.group(1)): found.end() for found in re.finditer(rb"(\d+) 0 obj", pdf)}

    def stream(number: int) -> bytes:
        """The object's stream, `/Length` bytes of it: an embedded font's compressed bytes may hold
        "endobj" or "endstream" themselves (a CJK font does), so the text around is no guide."""
        start = starts[number]
        keyword = pdf.index(b"stream", start)
        header = pdf[start:keyword]
        length = re.search(rb"/Length\s+(\d+)(\s+0\s+R)?", header)
        size = int(length.group(1))
        if length.group(2):  # an indirect length: the number in that object
            size = int(re.search(rb"\d+", objects[size]).group())
        begin = keyword + len(b"stream")
        begin += 2 if pdf[begin : begin + 2] == b"\r\n" else 1
        data = pdf[begin : begin + size]
        return zlib.decompress(data) if b"/FlateDecode" in header else data

    def unicode_map(font: int) -> dict[int, str]:
        found = re.search(rb"/ToUnicode (\d+) 0 R", objects[font])
        mapping: dict[int, str] = {}
        if not found:
            return mapping
        text = stream(int(found.group(1)))
        for block in re.findall(rb"beginbfchar(.*?)endbfchar", text, re.S):
            for source, target in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                mapping[int(source, 16)] = bytes.fromhex(target.decode()).decode("utf-16-be")
        for block in re.findall(rb"beginbfrange(.*?)endbfrange", text, re.S):
            for low, high, target in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                first = int(target, 16)
                for offset, code in enumerate(range(int(low, 16), int(high, 16) + 1)):
                    mapping[code] = chr(first + offset)
        return mapping

    def leaves(number: int) -> list[int]:
        """The pages under a node of the page tree, in reading order (Chromium nests the tree past 8 pages)."""
        body = objects[number]
        if not re.search(rb"/Type\s*/Pages\b", body):
            return [number]
        kids = re.search(rb"/Kids\s*\[(.*?)\]", body, re.S).group(1)
        return [leaf for kid in re.findall(rb"(\d+) 0 R", kids) for leaf in leaves(int(kid))]

    root = next(n for n, body in objects.items() if re.search(rb"/Type\s*/Pages\b", body) and b"/Parent" not in body)
    kids = leaves(root)
    texts = []
    for kid in kids:
        page = objects[kid]
        fonts = {
            name.decode(): unicode_map(int(number))
            for name, number in re.findall(rb"/(F\w*) (\d+) 0 R", re.search(rb"/Font\s*<<(.*?)>>", page, re.S).group(1))
        }
        contents = re.search(rb"/Contents\s*(\[.*?\]|\d+ 0 R)", page, re.S).group(1)
        content = b"".join(stream(int(number)) for number in re.findall(rb"(\d+) 0 R", contents))
        current: dict[int, str] = {}
        shown = []
        for match in re.finditer(rb"/(F\w*)\s+[-\d.]+\s+Tf|<([0-9A-Fa-f\s]*)>", content):
            if match.group(1):
                current = fonts.get(match.group(1).decode(), {})
            else:
                digits = re.sub(rb"\s", b"", match.group(2))
                shown.append("".join(current.get(int(digits[i : i + 4], 16), "") for i in range(0, len(digits), 4)))
        texts.append("".join(shown))
    return texts
