"""newsbeam's own flags, as a Beam PipelineOptions view; every other flag goes to Beam."""

from apache_beam.options.pipeline_options import PipelineOptions


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
        parser.add_argument("--output", default=None,
                            help="dataset root: local folder or gs://... (default: out)")
        parser.add_argument("--quiet", action="store_true", default=False,
                            help="no progress lines while the run works; only the summary")
        parser.add_argument("--allow-private-hosts", "--allow_private_hosts",
                            action="store_true", default=False, dest="allow_private_hosts",
                            help="fetch URLs that resolve to loopback or private addresses")
