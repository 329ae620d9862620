"""newsbeam's own flags, as Beam PipelineOptions views; every other flag goes to Beam, and a
flag neither knows is refused (Beam itself would only warn and run without it)."""

from __future__ import annotations

import argparse
import difflib

from apache_beam.options.pipeline_options import PipelineOptions, _BeamArgumentParser

from transforms.core.settings import ConfigError


class NewsbeamOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser) -> None:  # noqa: ANN001 - Beam's argparse hook
        parser.add_argument("--config", default=None,
                            help="YAML file overriding configs/default.yaml key by key")
        parser.add_argument("--input", action="append", default=None, dest="inputs",
                            help="glob of .txt, .html/.htm or feed files, optionally .gz "
                                 "(repeatable)")
        parser.add_argument("--feed", action="append", default=None, dest="feeds",
                            help="RSS/Atom/JSON feed URL or file (repeatable)")
        parser.add_argument("--sitemap", action="append", default=None, dest="sitemaps",
                            help="sitemap, sitemap index or news sitemap URL or file, plain "
                                 "or gzip (repeatable): each page not yet written is fetched")
        parser.add_argument("--output", default=None,
                            help="dataset root: local folder or gs://... (default: out)")
        parser.add_argument("--quiet", action="store_true", default=False,
                            help="no progress lines while the run works; only the summary")
        parser.add_argument("--allow-private-hosts", "--allow_private_hosts",
                            action="store_true", default=False, dest="allow_private_hosts",
                            help="fetch URLs that resolve to loopback or private addresses")


class StreamOptions(PipelineOptions):
    """The flags only `newsbeam stream` takes."""

    @classmethod
    def _add_argparse_args(cls, parser) -> None:  # noqa: ANN001 - Beam's argparse hook
        parser.add_argument("--every", type=float, default=None,
                            help="seconds between two batches (config stream.every_s)")
        parser.add_argument("--for", type=float, default=None, dest="for_s",
                            help="stop after this many seconds (default: until SIGTERM)")


STREAM_FLAGS = ("--every", "--for")


def refuse_unknown_options(argv: list[str], command: str) -> None:
    """Raises ConfigError naming the first flag that neither newsbeam's `command` nor any of
    Beam's option groups knows, with the nearest known flag. Beam's own parser is built the
    way Beam builds it (each direct PipelineOptions subclass adds its flags)."""
    parser = _BeamArgumentParser(allow_abbrev=False)
    groups = {str(cls): cls for cls in PipelineOptions.__subclasses__()}
    for cls in groups.values():
        if cls is not StreamOptions or command == "stream":
            cls._add_argparse_args(parser)
    _, unknown = parser.parse_known_args(argv)
    refuse_unknown(unknown, parser, command)


def refuse_unknown(unknown: list[str], parser: argparse.ArgumentParser, command: str) -> None:
    """Raises ConfigError naming the first of `unknown` (what `parser` did not know) and the
    nearest flag it knows; nothing when `unknown` is empty."""
    if not unknown:
        return
    flag = next((arg for arg in unknown if arg.startswith("-")), unknown[0])
    name = flag.split("=", 1)[0]
    known = [option for action in parser._actions for option in action.option_strings]
    nearest = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {nearest[0]}?" if nearest else ""
    if name in STREAM_FLAGS and command != "stream":
        hint = "; it is a flag of newsbeam stream"
    what = "option" if flag.startswith("-") else "argument"
    beam = " (neither newsbeam nor Apache Beam knows it)" if command in ("run", "stream") else ""
    raise ConfigError(f"unknown {what} {flag!r} for newsbeam {command}{beam}{hint}")
