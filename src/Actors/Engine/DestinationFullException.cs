using ActorSync.Transport.Interop;

namespace ActorSync.Engine;

/// <summary>
/// The destination's filesystem (or quota) is full. Fatal to the transfer, not just to one file: every later
/// write would fail too, and streaming gigabytes into a full disk helps nobody. Exit status 1, like any
/// incomplete transfer; a re-run after freeing space sends only what is missing.
/// </summary>
internal sealed class DestinationFullException(string path, int errno)
    : IOException($"the destination is full: cannot write \"{Transport.Frames.RelativePath.Printable(path)}\": {Libc.Describe(errno)}");
