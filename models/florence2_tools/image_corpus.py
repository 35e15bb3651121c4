"""A generated corpus of JPEG and PNG files for the decode-parity tests (issue 21).

Every file is written by an encoder independent of our decoder: Pillow 13 (libjpeg-turbo 3.x
inside its wheel, libpng-compatible zlib streams), Debian's `cjpeg` (libjpeg-turbo 2.1: the
subsamplings Pillow cannot write, 4:4:0, 4:1:1, 4:1:0, arithmetic coding, restart intervals in
rows), Debian's `libturbojpeg.so.0` through ctypes (YCCK, which neither Pillow nor cjpeg writes),
and a small PNG writer below (16-bit colour, Adam7 interlacing, every filter type: Pillow writes
none of them). Reference pixels are Pillow's, as transformers' `load_image` gets them:
`ImageOps.exif_transpose(Image.open(path)).convert("RGB")`.

    generate(out_dir, full=False) -> list[Case]

`full=False` is the CI subset (small sizes plus one 4000x3000 photo); `full=True` adds the rest
(every quality step, more sizes and seeds). Deterministic for a given `full`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import io
import random
import shutil
import struct
import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

# JPEG subsamplings as cjpeg's -sample (luma H x V; chroma 1x1) and their usual names.
CJPEG_SAMPLING = {"444": "1x1", "422": "2x1", "420": "2x2", "440": "1x2", "411": "4x1", "410": "4x2"}
PILLOW_SAMPLING = {"444": 0, "422": 1, "420": 2}


@dataclass(frozen=True)
class Case:
    """One corpus file."""

    name: str
    kind: str
    path: Path


# ---------------------------------------------------------------- source pixels


def _photos() -> list[np.ndarray]:
    import skimage.data as data

    return [data.astronaut(), data.coffee(), data.chelsea(), data.rocket()]


_PHOTOS: list[np.ndarray] | None = None


def source(width: int, height: int, style: str, seed: int) -> Image.Image:
    """An RGB image of the given size: a photo crop/resize, noise, gradients or saturated blocks."""
    global _PHOTOS
    rng = np.random.default_rng(seed)
    if style == "photo":
        if _PHOTOS is None:
            _PHOTOS = _photos()
        photo = _PHOTOS[seed % len(_PHOTOS)]
        h, w = photo.shape[:2]
        # A random crop of at least a quarter of the photo, resized to the target size.
        cw, ch = int(rng.integers(w // 2, w + 1)), int(rng.integers(h // 2, h + 1))
        x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        img = Image.fromarray(np.ascontiguousarray(photo[y : y + ch, x : x + cw]))
        img = img.resize((width, height), Image.Resampling.BICUBIC)
        if width * height > 600 * 600:
            # Upscaled photos are smooth: add fine grain so every block has detail.
            arr = np.asarray(img).astype(np.int16) + rng.integers(-12, 13, (height, width, 3))
            img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
        return img
    if style == "noise":
        return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
    if style == "gradient":
        yy, xx = np.mgrid[0:height, 0:width]
        r = xx * 255 // max(width - 1, 1)
        g = yy * 255 // max(height - 1, 1)
        b = (xx + yy) * 255 // max(width + height - 2, 1)
        return Image.fromarray(np.stack([r, g, b], -1).astype(np.uint8))
    if style == "saturated":
        # Blocks of pure and extreme colours: clamping in the colour conversion and the IDCT.
        palette = np.array(
            [[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [0, 255, 255], [255, 0, 255]],
            dtype=np.uint8,
        )
        cells = rng.integers(0, len(palette), ((height + 2) // 3, (width + 2) // 3))
        return Image.fromarray(palette[np.kron(cells, np.ones((3, 3), dtype=np.int64))[:height, :width]])
    raise ValueError(style)


def _cmyk(rgb: Image.Image, seed: int) -> np.ndarray:
    """CMYK pixels with a real K channel (Pillow's RGB->CMYK conversion leaves K at 0)."""
    a = 255 - np.asarray(rgb).astype(np.int32)
    k = (a.min(axis=2) * np.random.default_rng(seed).uniform(0.3, 1.0)).astype(np.int32)
    cmy = a - k[..., None]
    return np.concatenate([cmy, k[..., None]], -1).astype(np.uint8)


# ---------------------------------------------------------------- EXIF / XMP helpers


def exif_orientation(value: int, *, big_endian: bool = False, type_code: int = 3) -> bytes:
    """An `Exif\\0\\0` APP1 body whose IFD0 holds only Orientation (tag 0x0112)."""
    e = ">" if big_endian else "<"
    head = (b"MM\x00\x2a" if big_endian else b"II\x2a\x00") + struct.pack(e + "I", 8)
    if type_code == 3:
        value_field = struct.pack(e + "HH", value, 0)
    else:  # LONG
        value_field = struct.pack(e + "I", value)
    entry = struct.pack(e + "HHI", 0x0112, type_code, 1) + value_field
    return b"Exif\x00\x00" + head + struct.pack(e + "H", 1) + entry + struct.pack(e + "I", 0)


def xmp_orientation(value: int, attribute: bool = True) -> bytes:
    """An XMP packet with tiff:Orientation as an attribute or an element."""
    inner = (
        f'<rdf:Description rdf:about="" xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="{value}"/>'
        if attribute
        else f'<rdf:Description rdf:about="" xmlns:tiff="http://ns.adobe.com/tiff/1.0/"><tiff:Orientation>{value}</tiff:Orientation></rdf:Description>'
    )
    return (
        '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f"{inner}</rdf:RDF></x:xmpmeta><?xpacket end=\"w\"?>"
    ).encode()


def insert_jpeg_segment(jpeg: bytes, marker: int, body: bytes) -> bytes:
    """`jpeg` with a segment inserted right after SOI."""
    return jpeg[:2] + struct.pack(">BBH", 0xFF, marker, len(body) + 2) + body + jpeg[2:]


# ---------------------------------------------------------------- encoders


def pillow_jpeg(img: Image.Image, path: Path, **kwargs) -> None:
    from PIL import ImageFile

    # Pillow sizes its encoder buffer for optimized/progressive files at width x height bytes,
    # too small for noisy content ("Suspension not allowed here"); its floor is MAXBLOCK.
    saved = ImageFile.MAXBLOCK
    ImageFile.MAXBLOCK = max(saved, 4 * img.size[0] * img.size[1] + (1 << 16))
    try:
        img.save(path, "JPEG", **kwargs)
    finally:
        ImageFile.MAXBLOCK = saved


def cjpeg(img: Image.Image, path: Path, args: list[str]) -> None:
    exe = shutil.which("cjpeg")
    if exe is None:
        raise RuntimeError("cjpeg not found: install Debian's libjpeg-turbo-progs (scripts/setup.sh)")
    buf = io.BytesIO()
    img.save(buf, "PPM")
    out = subprocess.run([exe, *args], input=buf.getvalue(), capture_output=True, check=True)
    path.write_bytes(out.stdout)


_TJ: ctypes.CDLL | None = None


def turbojpeg_cmyk(cmyk: np.ndarray, path: Path, quality: int, subsamp: int, progressive: bool) -> None:
    """A YCCK JPEG from CMYK pixels, by Debian's libturbojpeg (TurboJPEG encodes CMYK as YCCK)."""
    global _TJ
    if _TJ is None:
        name = ctypes.util.find_library("turbojpeg") or "libturbojpeg.so.0"
        _TJ = ctypes.CDLL(name)
        _TJ.tjInitCompress.restype = ctypes.c_void_p
        _TJ.tjCompress2.argtypes = [
            ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int,
            ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_ulong), ctypes.c_int, ctypes.c_int, ctypes.c_int,
        ]
        _TJ.tjDestroy.argtypes = [ctypes.c_void_p]
        _TJ.tjFree.argtypes = [ctypes.c_void_p]
        _TJ.tjGetErrorStr2.argtypes = [ctypes.c_void_p]
        _TJ.tjGetErrorStr2.restype = ctypes.c_char_p
    h, w = cmyk.shape[:2]
    src = np.ascontiguousarray(cmyk)
    handle = _TJ.tjInitCompress()
    out = ctypes.c_void_p()
    size = ctypes.c_ulong(0)
    tjpf_cmyk, tjflag_progressive = 11, 16384
    try:
        rc = _TJ.tjCompress2(
            handle, src.ctypes.data, w, 0, h, tjpf_cmyk, ctypes.byref(out), ctypes.byref(size), subsamp, quality,
            tjflag_progressive if progressive else 0,
        )
        if rc != 0:
            raise RuntimeError(_TJ.tjGetErrorStr2(handle).decode())
        path.write_bytes(ctypes.string_at(out, size.value))
    finally:
        if out.value:
            _TJ.tjFree(out)
        _TJ.tjDestroy(handle)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _filter_rows(raw: np.ndarray, bpp: int, seed: int) -> bytes:
    """PNG-filtered scanlines of `raw` (rows x bytes), cycling through all five filter types."""
    out = bytearray()
    prev = np.zeros(raw.shape[1], dtype=np.int32)
    for i, row in enumerate(raw.astype(np.int32)):
        ftype = (i + seed) % 5
        left = np.concatenate([np.zeros(bpp, np.int32), row[:-bpp]]) if bpp < len(row) else np.zeros_like(row)
        upleft = np.concatenate([np.zeros(bpp, np.int32), prev[:-bpp]]) if bpp < len(row) else np.zeros_like(row)
        if ftype == 0:
            f = row
        elif ftype == 1:
            f = row - left
        elif ftype == 2:
            f = row - prev
        elif ftype == 3:
            f = row - (left + prev) // 2
        else:
            p = left + prev - upleft
            pa, pb, pc = np.abs(p - left), np.abs(p - prev), np.abs(p - upleft)
            pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, prev, upleft))
            f = row - pred
        out.append(ftype)
        out += (f & 0xFF).astype(np.uint8).tobytes()
        prev = row
    return bytes(out)


def _pack_row(samples: np.ndarray, depth: int) -> np.ndarray:
    """One image row of samples (pixels x channels) to PNG bytes at `depth` bits."""
    flat = samples.reshape(-1).astype(np.uint32)
    if depth == 16:
        return flat.astype(">u2").view(np.uint8)
    if depth == 8:
        return flat.astype(np.uint8)
    per = 8 // depth
    pad = (-len(flat)) % per
    flat = np.concatenate([flat, np.zeros(pad, np.uint32)]).reshape(-1, per)
    shifts = np.array([8 - depth * (i + 1) for i in range(per)], np.uint32)
    return (flat << shifts).sum(axis=1).astype(np.uint8)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def write_png(
    path: Path,
    samples: np.ndarray,
    color_type: int,
    depth: int,
    *,
    interlace: bool = False,
    palette: np.ndarray | None = None,
    trns: bytes | None = None,
    extra_chunks: list[tuple[bytes, bytes]] = (),
    seed: int = 0,
) -> None:
    """A PNG of `samples` (height x width x channels, values within `depth` bits)."""
    h, w, channels = samples.shape
    bpp = max(1, channels * depth // 8)

    def encode(sub: np.ndarray) -> bytes:
        if sub.shape[0] == 0 or sub.shape[1] == 0:
            return b""
        rows = np.stack([_pack_row(r, depth) for r in sub])
        return _filter_rows(rows, bpp, seed)

    if interlace:
        data = b"".join(encode(samples[y0::dy, x0::dx]) for x0, y0, dx, dy in ADAM7)
    else:
        data = encode(samples)
    chunks = [_png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, int(interlace)))]
    if palette is not None:
        chunks.append(_png_chunk(b"PLTE", palette.astype(np.uint8).tobytes()))
    if trns is not None:
        chunks.append(_png_chunk(b"tRNS", trns))
    chunks += [_png_chunk(k, v) for k, v in extra_chunks if k != b"post"]
    # Split the image data over two IDAT chunks (a decoder must join them).
    z = zlib.compress(data, 6)
    half = len(z) // 2
    chunks += [_png_chunk(b"IDAT", z[:half]), _png_chunk(b"IDAT", z[half:])]
    chunks += [_png_chunk(b"eXIf", v) for k, v in extra_chunks if k == b"post"]
    chunks.append(_png_chunk(b"IEND", b""))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"".join(chunks))


# ---------------------------------------------------------------- the corpus


def generate(out: Path, full: bool = False) -> list[Case]:
    """Writes the corpus into `out` (created) and lists its files."""
    out.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []
    rng = random.Random(21)

    def add(kind: str, name: str) -> Path:
        path = out / name
        cases.append(Case(name, kind, path))
        return path

    def quality() -> int:
        return rng.randint(30, 100)

    styles = ["photo", "noise", "gradient", "saturated"]
    small = [(1, 1), (2, 1), (1, 2), (3, 3), (7, 5), (8, 8), (9, 9), (15, 17), (16, 16), (17, 15), (33, 65), (100, 1), (1, 100), (61, 37)]
    medium = [(127, 85), (256, 192), (333, 250)]
    large = [(1001, 667), (1600, 1200)] if full else []
    sizes = small + medium + large
    seeds = range(3) if full else range(1)

    # Subsamplings x baseline/progressive, over sizes and content (cjpeg for all of them, Pillow
    # for the three it writes).
    n = 0
    for seed in seeds:
        for samp, factor in CJPEG_SAMPLING.items():
            for i, (w, h) in enumerate(sizes):
                if not full and i % 2:
                    continue
                style = styles[(i + seed) % len(styles)]
                img = source(w, h, style, seed * 100 + i)
                q = quality()
                for progressive in (False, True):
                    mode = "prog" if progressive else "base"
                    args = ["-quality", str(q), "-sample", f"{factor},1x1,1x1"]
                    if progressive:
                        args.append("-progressive")
                    cjpeg(img, add(f"jpeg-{samp}-{mode}", f"cj_{samp}_{mode}_{w}x{h}_q{q}_{style}_{n}.jpg"), args)
                    n += 1
                    if samp in PILLOW_SAMPLING:
                        pillow_jpeg(
                            img,
                            add(f"jpeg-{samp}-{mode}", f"pil_{samp}_{mode}_{w}x{h}_q{q}_{style}_{n}.jpg"),
                            quality=q, subsampling=PILLOW_SAMPLING[samp], progressive=progressive,
                            optimize=bool(n % 2),
                        )
                        n += 1

    # Every quality from 30 to 100 (full) or every tenth (CI), on a photo.
    for q in range(30, 101, 1 if full else 10):
        img = source(96, 72, "photo", q)
        samp = ["444", "422", "420"][q % 3]
        pillow_jpeg(img, add("jpeg-quality", f"pil_q{q}_{samp}.jpg"), quality=q, subsampling=PILLOW_SAMPLING[samp])

    # Grayscale.
    for i, (w, h) in enumerate(sizes[:: 1 if full else 3]):
        img = source(w, h, styles[i % 4], 500 + i).convert("L")
        q = quality()
        pillow_jpeg(img, add("jpeg-gray", f"pil_gray_{w}x{h}_q{q}_{i}.jpg"), quality=q, progressive=bool(i % 2))
        cjpeg(img, add("jpeg-gray", f"cj_gray_{w}x{h}_q{q}_{i}.jpg"), ["-quality", str(q)] + (["-progressive"] if i % 2 else []))

    # Restart markers: Pillow (every N MCUs, or every N MCU rows) and cjpeg.
    for i, (w, h) in enumerate([(64, 48), (97, 61), (256, 192), (17, 15)] + ([(1001, 667)] if full else [])):
        img = source(w, h, "photo", 600 + i)
        q = quality()
        pillow_jpeg(img, add("jpeg-restart", f"pil_rst_blocks_{w}x{h}_{i}.jpg"), quality=q, restart_marker_blocks=1 + i)
        pillow_jpeg(img, add("jpeg-restart", f"pil_rst_rows_{w}x{h}_{i}.jpg"), quality=q, restart_marker_rows=1, progressive=True)
        samp = list(CJPEG_SAMPLING.values())[i % 6]
        cjpeg(img, add("jpeg-restart", f"cj_rst_{w}x{h}_{i}.jpg"), ["-quality", str(q), "-sample", f"{samp},1x1,1x1", "-restart", str(1 + i)])
        cjpeg(img, add("jpeg-restart", f"cj_rstB_{w}x{h}_{i}.jpg"), ["-quality", str(q), "-restart", "3B", "-progressive"])

    # Arithmetic coding (libjpeg-turbo decodes it; Pillow's wheel is built with it).
    for i, (w, h) in enumerate([(64, 48), (37, 23)] + ([(500, 333)] if full else [])):
        img = source(w, h, "photo", 700 + i)
        cjpeg(img, add("jpeg-arithmetic", f"cj_arith_{w}x{h}_{i}.jpg"), ["-quality", "80", "-arithmetic"] + (["-progressive"] if i % 2 else []))

    # CMYK (Pillow: Adobe marker, inverted values) and YCCK (libturbojpeg).
    for i, (w, h) in enumerate([(64, 48), (17, 15), (1, 1), (256, 192)] + ([(333, 250), (1001, 667)] if full else [])):
        rgb = source(w, h, styles[i % 4], 800 + i)
        cmyk = _cmyk(rgb, i)
        q = quality()
        pillow_jpeg(Image.fromarray(cmyk, "CMYK"), add("jpeg-cmyk", f"pil_cmyk_{w}x{h}_{i}.jpg"), quality=q, progressive=bool(i % 2))
        for subsamp, samp in [(0, "444"), (2, "420")]:
            turbojpeg_cmyk(cmyk, add("jpeg-ycck", f"tj_ycck_{samp}_{w}x{h}_{i}.jpg"), q, subsamp, bool(i % 2))

    # RGB stored without colour transform (Adobe transform 0).
    for i, (w, h) in enumerate([(64, 48), (31, 17)]):
        pillow_jpeg(source(w, h, "photo", 900 + i), add("jpeg-rgb", f"pil_rgb_{w}x{h}_{i}.jpg"), quality=90, keep_rgb=True, subsampling=0)

    # An embedded ICC profile (Pillow does not apply it; neither do we) and an MPO (two frames).
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    pillow_jpeg(source(80, 60, "photo", 950), add("jpeg-icc", "pil_icc.jpg"), quality=85, icc_profile=icc)
    first, second = source(90, 70, "photo", 951), source(90, 70, "noise", 952)
    first.save(add("jpeg-mpo", "pil_two_frames.mpo"), "MPO", save_all=True, append_images=[second], quality=88)

    # EXIF orientation 1..8 on JPEG (little- and big-endian, SHORT and LONG) and PNG, XMP fallbacks.
    for o in range(1, 9):
        for samp in ("420", "444") if full else ("420",):
            img = source(45, 31, "photo", 1000 + o)
            path = add("jpeg-exif", f"pil_exif{o}_{samp}.jpg")
            pillow_jpeg(img, path, quality=85, subsampling=PILLOW_SAMPLING[samp], exif=exif_orientation(o))
        img = source(23, 40, "gradient", 1010 + o)
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=92)
        add("jpeg-exif", f"be_long_exif{o}.jpg").write_bytes(
            insert_jpeg_segment(buf.getvalue(), 0xE1, exif_orientation(o, big_endian=True, type_code=4))
        )
        buf = io.BytesIO()
        source(30, 20, "photo", 1020 + o).save(buf, "JPEG", quality=80, subsampling=2)
        xmp = b"http://ns.adobe.com/xap/1.0/\x00" + xmp_orientation(o, attribute=bool(o % 2))
        add("jpeg-exif", f"xmp_only{o}.jpg").write_bytes(insert_jpeg_segment(buf.getvalue(), 0xE1, xmp))
        png_img = np.asarray(source(21, 34, "photo", 1030 + o))
        write_png(add("png-exif", f"png_exif{o}.png"), png_img, 2, 8, extra_chunks=[(b"eXIf", exif_orientation(o)[6:])])
        write_png(add("png-exif", f"png_exif_after_idat{o}.png"), png_img, 2, 8, extra_chunks=[(b"post", exif_orientation(o)[6:])])
    # EXIF says 1 while XMP says 6: EXIF wins. Invalid orientation values: no transform.
    buf = io.BytesIO()
    source(30, 20, "photo", 1040).save(buf, "JPEG", quality=80)
    both = insert_jpeg_segment(buf.getvalue(), 0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + xmp_orientation(6))
    add("jpeg-exif", "exif1_xmp6.jpg").write_bytes(insert_jpeg_segment(both, 0xE1, exif_orientation(1)))
    for bad in (0, 9, 65535):
        add("jpeg-exif", f"exif_invalid{bad}.jpg").write_bytes(insert_jpeg_segment(buf.getvalue(), 0xE1, exif_orientation(bad)))

    # Odd sizes and one camera-sized photo.
    for i, (w, h) in enumerate([(4000, 3000)] + ([(3001, 4003), (2999, 1)] if full else [])):
        img = source(w, h, "photo", 1100 + i)
        pillow_jpeg(img, add("jpeg-large", f"pil_large_{w}x{h}.jpg"), quality=90, subsampling=2)
        if full:
            cjpeg(img, add("jpeg-large", f"cj_large_440_{w}x{h}.jpg"), ["-quality", "85", "-sample", "1x2,1x1,1x1", "-progressive"])

    _png_cases(add, full)
    _corrupt_cases(out, add, full)
    return cases


def _png_cases(add, full: bool) -> None:
    """8/16-bit, palette (with tRNS), gray(+alpha), low bit depths, interlaced, every filter."""
    sizes = [(1, 1), (7, 5), (33, 17), (64, 48)] + ([(3, 130), (250, 171)] if full else [])
    for i, (w, h) in enumerate(sizes):
        rng = np.random.default_rng(2000 + i)
        rgb = np.asarray(source(w, h, ["photo", "noise", "gradient", "saturated"][i % 4], 2000 + i))
        for interlace in (False, True):
            il = "adam7" if interlace else "plain"

            def png(kind: str, name: str, samples, ct, depth, **kw):
                write_png(add(f"png-{kind}", f"png_{name}_{il}_{w}x{h}.png"), samples, ct, depth, interlace=interlace, seed=i, **kw)

            gray = rgb.mean(axis=2).astype(np.uint16)
            png("rgb8", "rgb8", rgb, 2, 8)
            png("rgba8", "rgba8", np.dstack([rgb, rng.integers(0, 256, (h, w))]), 6, 8)
            png("gray8", "gray8", gray[..., None], 0, 8)
            png("gray-alpha", "la8", np.dstack([gray, rng.integers(0, 256, (h, w))]), 4, 8)
            wide = rng.integers(0, 65536, (h, w, 4))
            png("rgb16", "rgb16", wide[..., :3], 2, 16)
            png("rgba16", "rgba16", wide, 6, 16)
            png("gray16", "gray16", wide[..., :1], 0, 16)
            png("gray16", "gray16_low", rng.integers(0, 300, (h, w, 1)), 0, 16)
            png("gray-alpha", "la16", wide[..., :2], 4, 16)
            for depth in (1, 2, 4):
                png("gray-lowbit", f"gray{depth}", rng.integers(0, 1 << depth, (h, w, 1)), 0, depth)
                entries = 1 << depth
                pal = rng.integers(0, 256, (entries, 3))
                png("palette", f"pal{depth}", rng.integers(0, entries, (h, w, 1)), 3, depth, palette=pal)
            pal = rng.integers(0, 256, (200, 3))
            idx = rng.integers(0, 200, (h, w, 1))
            png("palette", "pal8", idx, 3, 8, palette=pal)
            png("palette-trns", "pal8_trns", idx, 3, 8, palette=pal, trns=bytes(rng.integers(0, 256, 150).astype(np.uint8)))
            png("rgb-trns", "rgb8_trns", rgb, 2, 8, trns=struct.pack(">HHH", *map(int, rgb[0, 0])))
            png("gray-trns", "gray8_trns", gray[..., None], 0, 8, trns=struct.pack(">H", int(gray[0, 0])))
    # Pillow-written PNGs (its own filter choices and zlib settings).
    for i, (w, h) in enumerate([(64, 48), (33, 17)]):
        img = source(w, h, "photo", 2100 + i)
        img.save(add("png-rgb8", f"pil_rgb_{w}x{h}.png"), optimize=True)
        img.convert("P", palette=Image.Palette.ADAPTIVE, colors=37).save(add("png-palette", f"pil_pal_{w}x{h}.png"))
        img.convert("LA").save(add("png-gray-alpha", f"pil_la_{w}x{h}.png"))


def _corrupt_cases(out: Path, add, full: bool) -> None:
    """Complete files with damaged entropy-coded data: libjpeg warns and decodes (so does Pillow)."""
    base = io.BytesIO()
    source(128, 96, "photo", 3000).save(base, "JPEG", quality=85)
    data = base.getvalue()
    sos = data.index(b"\xff\xda")
    rng = random.Random(3000)
    for i in range(12 if full else 4):
        bad = bytearray(data)
        for _ in range(1 + i % 3):
            at = rng.randrange(sos + 20, len(data) - 4)
            bad[at] = rng.randrange(0, 255)
        add("jpeg-corrupt-data", f"corrupt_{i}.jpg").write_bytes(bytes(bad))


# ---------------------------------------------------------------- comparison with Pillow


def pillow_rgb(path: Path, exif: bool = True) -> np.ndarray:
    """Pillow's pixels as transformers' `load_image` gets them (or without the EXIF transpose)."""
    from PIL import ImageOps

    with Image.open(path) as im:
        if exif:
            im = ImageOps.exif_transpose(im)
        return np.asarray(im.convert("RGB"))


def read_ppm(path: Path) -> np.ndarray:
    data = path.read_bytes()
    # Header as written by decode_files: "P6\n{w} {h}\n255\n" (pixel bytes may look like spaces).
    magic, size, maxval, rest = data.split(b"\n", 3)
    w, h = map(int, size.split())
    assert magic == b"P6" and maxval == b"255", path
    return np.frombuffer(rest, np.uint8).reshape(h, w, 3)


def build_decoder(repo: Path) -> Path:
    """Builds (if needed) and locates the `decode_files` example of florence2-preprocess."""
    subprocess.run(
        ["cargo", "build", "--quiet", "--locked", "-p", "florence2-preprocess", "--example", "decode_files"],
        cwd=repo,
        check=True,
    )
    meta = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps", "--locked"], cwd=repo, capture_output=True, check=True
    )
    import json

    return Path(json.loads(meta.stdout)["target_directory"]) / "debug" / "examples" / "decode_files"


@dataclass
class KindResult:
    """Per-kind totals of a corpus comparison."""

    files: int = 0
    pixels: int = 0
    differing_files: int = 0
    differing_pixels: int = 0
    max_level_diff: int = 0
    both_refused: int = 0
    outcome_mismatches: int = 0


def compare(cases: list[Case], decoder: Path, work: Path, exif: bool = True) -> tuple[dict[str, KindResult], list[str]]:
    """Decodes every case with ours and Pillow; per-kind totals and a list of problems."""
    work.mkdir(parents=True, exist_ok=True)
    args = [str(decoder)] + ([] if exif else ["--no-exif"]) + [str(work)]
    for start in range(0, len(cases), 200):
        subprocess.run(args + [str(c.path) for c in cases[start : start + 200]], check=True)
    results: dict[str, KindResult] = {}
    problems: list[str] = []
    for case in cases:
        r = results.setdefault(case.kind, KindResult())
        r.files += 1
        try:
            ref = pillow_rgb(case.path, exif)
        except Exception as e:  # noqa: BLE001 - any Pillow failure is an outcome to compare
            ref, ref_error = None, f"{type(e).__name__}: {e}"
        ppm, err = work / f"{case.name}.ppm", work / f"{case.name}.err"
        if ppm.exists():
            ours = read_ppm(ppm)
            if ref is None:
                r.outcome_mismatches += 1
                problems.append(f"{case.name}: Pillow refuses ({ref_error}), we decode")
                continue
            r.pixels += ref.shape[0] * ref.shape[1]
            if ours.shape != ref.shape:
                r.differing_files += 1
                r.differing_pixels += ref.shape[0] * ref.shape[1]
                problems.append(f"{case.name}: size {ours.shape} vs Pillow {ref.shape}")
                continue
            diff = ours != ref
            n = int(diff.any(axis=2).sum())
            if n:
                r.differing_files += 1
                r.differing_pixels += n
                level = int(np.abs(ours.astype(np.int16) - ref).max())
                r.max_level_diff = max(r.max_level_diff, level)
                problems.append(f"{case.name}: {n} pixels differ (up to {level} levels)")
        else:
            message = err.read_text() if err.exists() else "no output"
            if ref is None:
                r.both_refused += 1
            else:
                r.outcome_mismatches += 1
                problems.append(f"{case.name}: we refuse ({message}), Pillow decodes")
    return results, problems


def table(results: dict[str, KindResult]) -> str:
    """A Markdown table of per-kind results."""
    lines = [
        "| kind | files | pixels | differing files | differing pixels | both refuse | outcome mismatches |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    total = KindResult()
    for kind in sorted(results):
        r = results[kind]
        lines.append(
            f"| {kind} | {r.files} | {r.pixels} | {r.differing_files} | {r.differing_pixels} | {r.both_refused} | {r.outcome_mismatches} |"
        )
        for field in ("files", "pixels", "differing_files", "differing_pixels", "both_refused", "outcome_mismatches"):
            setattr(total, field, getattr(total, field) + getattr(r, field))
    lines.append(
        f"| **all** | {total.files} | {total.pixels} | {total.differing_files} | {total.differing_pixels} | {total.both_refused} | {total.outcome_mismatches} |"
    )
    return "\n".join(lines)


# ---------------------------------------------------------------- committed fixtures


def write_fixture_jpegs(out: Path) -> list[Path]:
    """The JPEG fixtures of tests/fixtures/images-jpeg (token parity on the fixture model): photos
    in the layouts phones and tools write, plus the ones only libjpeg-turbo decodes this way."""
    import skimage.data as data

    out.mkdir(parents=True, exist_ok=True)
    chelsea, coffee, astronaut = Image.fromarray(data.chelsea()), Image.fromarray(data.coffee()), Image.fromarray(data.astronaut())
    files = []

    def path(name: str) -> Path:
        files.append(out / name)
        return out / name

    chelsea.save(path("chelsea_420_q85.jpg"), "JPEG", quality=85, subsampling=2)
    coffee.resize((301, 201), Image.Resampling.BICUBIC).save(
        path("coffee_422_exif6_301x201.jpg"), "JPEG", quality=90, subsampling=1, exif=exif_orientation(6)
    )
    cjpeg(coffee.resize((300, 200), Image.Resampling.BICUBIC), path("coffee_440_progressive.jpg"),
          ["-quality", "80", "-sample", "1x2,1x1,1x1", "-progressive"])
    cjpeg(astronaut.resize((256, 256), Image.Resampling.BICUBIC), path("astronaut_411_restart.jpg"),
          ["-quality", "75", "-sample", "4x1,1x1,1x1", "-restart", "2"])
    Image.fromarray(_cmyk(chelsea.resize((225, 150), Image.Resampling.BICUBIC), 7), "CMYK").save(
        path("chelsea_cmyk.jpg"), "JPEG", quality=90
    )
    astronaut.convert("L").resize((200, 200), Image.Resampling.BICUBIC).save(path("astronaut_gray_q60.jpg"), "JPEG", quality=60)
    return files
