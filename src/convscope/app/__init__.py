"""The explorer (``convscope serve``): a local web app over one workspace folder, beside the
command line as a second front end. It calls the Python API, as the command line does, and
keeps what it computes in the files the commands write: its units come from an atlas of the
workspace, rendered layer by layer when first looked at, by one worker off the request path."""
