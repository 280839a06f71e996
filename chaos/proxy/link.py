"""One proxied TCP connection: two sockets and a :class:`Link` per direction.

Fast path: with no toxic on a direction, bytes received on one socket are written to the other
straight from ``data_received`` (no queue, no task, no copy), with asyncio's write-buffer
watermarks pausing the reading side. With toxics, a link runs a chain of stages, each a task
reading its own :class:`~chaos.proxy.stub.ChunkQueue`; the last stage writes to the socket.

Toxics are added, updated and removed on live links synchronously (everything runs on one event
loop, so no chunk can be between two stages while the chain is rewired): a removed stage is
cancelled, the part of the chunk it held plus its queued chunks move to the next stage.
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
import typing
from collections.abc import Callable
from typing import TYPE_CHECKING

from chaos.proxy.stub import ByteMeter, ChunkQueue, ToxicStub

if TYPE_CHECKING:
    from chaos.proxy.toxics.wrapper import ToxicWrapper

_LINGER_ZERO = struct.pack("ii", 1, 0)


class _Stage:
    __slots__ = ("wrapper", "queue", "stub", "task")

    def __init__(self, wrapper: ToxicWrapper, queue: ChunkQueue, stub: ToxicStub) -> None:
        self.wrapper = wrapper
        self.queue = queue
        self.stub = stub
        self.task: asyncio.Task[None] | None = None


class Link:
    """One direction (``upstream``: client → server, ``downstream``: server → client)."""

    def __init__(self, conn: Connection, direction: str, rng_for: Callable[[str], random.Random]):
        self.conn = conn
        self.direction = direction
        self.source: asyncio.Transport | None = None
        self.dest: asyncio.Transport | None = None
        self.stages: list[_Stage] = []
        self._rng_for = rng_for
        self._meter = ByteMeter(self._buffer_high, self._buffer_low)
        self._paused_by = 0  # bit 1: destination buffer full, bit 2: toxic chain backed up
        self.ended = False

    # -- data in ------------------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        if self.stages:
            self.stages[0].queue.put(data, asyncio.get_running_loop().time())
            return
        dest = self.dest
        if dest is not None and not dest.is_closing():
            dest.write(data)

    def feed_eof(self) -> None:
        if self.stages:
            self.stages[0].queue.put_eof()
        else:
            self._sink_eof()

    # -- data out (the sink at the end of the chain) ------------------------------------------
    def put(self, data: bytes, received_at: float) -> None:
        dest = self.dest
        if dest is not None and not dest.is_closing():
            dest.write(data)

    def put_eof(self) -> None:
        self._sink_eof()

    def _sink_eof(self) -> None:
        # Toxiproxy closes the destination when a direction ends; the other direction then
        # sees its source go and winds down the same way.
        self.ended = True
        if self.dest is not None and not self.dest.is_closing():
            self.dest.close()

    # -- flow control -------------------------------------------------------------------------
    def _pause(self, bit: int) -> None:
        if not self._paused_by and self.source is not None and not self.source.is_closing():
            self.source.pause_reading()
        self._paused_by |= bit

    def _resume(self, bit: int) -> None:
        was = self._paused_by
        self._paused_by &= ~bit
        if was and not self._paused_by and self.source is not None:
            if not self.source.is_closing():
                self.source.resume_reading()

    def dest_paused(self) -> None:
        self._pause(1)

    def dest_resumed(self) -> None:
        self._resume(1)

    def _buffer_high(self) -> None:
        self._pause(2)

    def _buffer_low(self) -> None:
        self._resume(2)

    # -- live toxic changes -------------------------------------------------------------------
    def _output_after(self, index: int) -> ChunkQueue | Link:
        return self.stages[index + 1].queue if index + 1 < len(self.stages) else self

    def add_toxic(self, wrapper: ToxicWrapper) -> None:
        queue = ChunkQueue(self._meter)
        rng = self._rng_for(wrapper.name)
        stub = ToxicStub(queue, self, rng, self.conn.reset)
        stage = _Stage(wrapper, queue, stub)
        if self.stages:
            self.stages[-1].stub.output = queue
        self.stages.append(stage)
        self._start(stage)

    def update_toxic(self, wrapper: ToxicWrapper) -> None:
        for stage in self.stages:
            if stage.wrapper.name == wrapper.name:
                self._interrupt(stage)
                stage.wrapper = wrapper
                if not stage.stub.closed:
                    self._start(stage)
                return

    def remove_toxic(self, name: str) -> None:
        for index, stage in enumerate(self.stages):
            if stage.wrapper.name == name:
                break
        else:
            return
        self._interrupt(stage)
        output = self._output_after(index)
        if index > 0:
            self.stages[index - 1].stub.output = output
        del self.stages[index]
        stub = stage.stub
        if stub.closed:
            return
        if stage.wrapper.kind.closes_on_removal:
            output.put_eof()
            return
        for data, received_at in stage.queue.drain():
            output.put(data, received_at)
        if stage.queue.eof:
            output.put_eof()

    def _start(self, stage: _Stage) -> None:
        toxic = stage.wrapper.roll(stage.stub.rng)
        stage.task = asyncio.get_running_loop().create_task(self._run(stage.stub, toxic))

    async def _run(self, stub: ToxicStub, toxic: object) -> None:
        try:
            await toxic.pipe(stub)  # type: ignore[attr-defined]
        except asyncio.CancelledError:
            raise
        except Exception:
            # A toxic that fails breaks its connection, never the proxy.
            stub.reset()
            return
        stub.close()

    def _interrupt(self, stage: _Stage) -> None:
        if stage.task is not None and not stage.task.done():
            stage.task.cancel()
        stage.task = None
        stub = stage.stub
        if stub.in_hand is not None and not stub.closed:
            stage.queue.push_front(stub.in_hand, stub.received_at)
            stub.in_hand = None

    def stop(self) -> None:
        for stage in self.stages:
            if stage.task is not None and not stage.task.done():
                stage.task.cancel()
        self.ended = True


class _Side(asyncio.Protocol):
    """One socket of a connection; forwards its events to the two links that use it."""

    def __init__(self, conn: Connection, outgoing: Link, incoming: Link) -> None:
        self.conn = conn
        self.outgoing = outgoing  # the link this socket is the source of
        self.incoming = incoming  # the link this socket is the destination of
        self.data_received = outgoing.feed  # type: ignore[method-assign]  # hot path: no hop

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, so no isinstance check here.
        transport = typing.cast(asyncio.Transport, transport)
        self.outgoing.source = transport
        self.incoming.dest = transport
        self.conn.side_made(self, transport)

    def eof_received(self) -> bool:
        self.outgoing.feed_eof()
        return True  # keep the socket: the other direction may still be delivering

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.outgoing.ended:
            self.outgoing.feed_eof()
        self.conn.side_lost(self)

    def pause_writing(self) -> None:
        self.incoming.dest_paused()

    def resume_writing(self) -> None:
        self.incoming.dest_resumed()


class Connection:
    """A client socket accepted by a proxy and the upstream socket opened for it."""

    def __init__(
        self,
        toxics: list[ToxicWrapper],
        rng_for: Callable[[str, str], random.Random],
        on_closed: Callable[[Connection], None],
    ) -> None:
        self.upstream = Link(self, "upstream", lambda name: rng_for("upstream", name))
        self.downstream = Link(self, "downstream", lambda name: rng_for("downstream", name))
        self.client_side = _Side(self, self.upstream, self.downstream)
        self.server_side = _Side(self, self.downstream, self.upstream)
        self._transports: list[asyncio.Transport] = []
        self._lost = 0
        self._on_closed = on_closed
        self._toxics = toxics
        self.closed = False

    def link(self, stream: str) -> Link:
        return self.upstream if stream == "upstream" else self.downstream

    def side_made(self, side: _Side, transport: asyncio.Transport) -> None:
        self._transports.append(transport)
        if side is self.client_side:
            transport.pause_reading()  # until the upstream socket is connected

    def start(self) -> None:
        """Both sockets are connected: install the proxy's toxics and let bytes flow."""
        # ``_toxics`` is the proxy's live list: toxics added while the upstream was connecting
        # are already installed (by the proxy), removed ones are already gone from the list.
        for wrapper in self._toxics:
            link = self.link(wrapper.stream)
            if all(stage.wrapper.name != wrapper.name for stage in link.stages):
                link.add_toxic(wrapper)
        client = self.upstream.source
        if client is not None and not client.is_closing():
            client.resume_reading()

    def side_lost(self, side: _Side) -> None:
        self._lost += 1
        if self._lost >= len(self._transports):
            self._finish()

    def reset(self) -> None:
        """Abort both sockets with SO_LINGER 0 so each peer receives a TCP RST."""
        for transport in self._transports:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
                except OSError:
                    pass
            transport.abort()
        self._finish()

    def abort(self) -> None:
        """Drop both sockets now (proxy disabled or deleted)."""
        for transport in self._transports:
            transport.abort()
        self._finish()

    def _finish(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.upstream.stop()
        self.downstream.stop()
        self._on_closed(self)
