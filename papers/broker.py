"""The embedded default's broker: kombu's filesystem transport, its folders made on first use.

Every folder the transport writes (messages, processed messages, and the `control` folder of
exchange tables, which kombu otherwise puts in the current directory) is under
DATA_DIR/broker (settings.CELERY_BROKER_TRANSPORT_OPTIONS), and is created when a process
first talks to the broker, not when the settings are imported.
"""

from pathlib import Path

from kombu.transport import filesystem


class Channel(filesystem.Channel):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        options = self.transport_options
        for name in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
            if options.get(name):
                Path(options[name]).mkdir(parents=True, exist_ok=True)


class Transport(filesystem.Transport):
    Channel = Channel
