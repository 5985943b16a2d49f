using System.Net.Sockets;

namespace ActorSync.Transport;

/// <summary>
/// An authenticated, encrypted byte stream over one TCP connection. Implementations write TLS 1.3 records
/// either in userspace or through the kernel (kTLS); the bytes on the wire are the same, so either end may use
/// either. Small on purpose so a test can put a fault injector in between.
/// </summary>
public interface ISecureChannel : IAsyncDisposable
{
    /// <summary>"user" or "kernel": who does the record crypto (reported in the summary).</summary>
    string CryptoMode { get; }

    /// <summary>Encrypts and sends all of <paramref name="plaintext"/>. Safe to call from one writer at a time
    /// while another task receives.</summary>
    ValueTask SendAsync(ReadOnlyMemory<byte> plaintext, CancellationToken cancellationToken = default);

    /// <summary>
    /// Sends <paramref name="header"/> followed by <paramref name="count"/> bytes of the open file
    /// <paramref name="fileFd"/> from <paramref name="offset"/>, in the same record stream. True when the file's
    /// bytes went by sendfile(2) (kernel TLS), false when they were read and sealed in userspace.
    /// </summary>
    ValueTask<bool> SendFileRangeAsync(ReadOnlyMemory<byte> header, int fileFd, long offset, int count, CancellationToken cancellationToken = default);

    /// <summary>
    /// The next decrypted bytes, valid until the next call; empty at an orderly end of stream
    /// (close_notify). Throws <see cref="IntegrityException"/> for a record that fails authentication.
    /// </summary>
    ValueTask<ReadOnlyMemory<byte>> ReceiveAsync(CancellationToken cancellationToken = default);

    /// <summary>Whether bytes are waiting to be received: a channel whose receive blocks (kernel TLS) is asked before
    /// a receive, to tell "more is coming" from "the peer has stopped sending". Channels that never block say false.</summary>
    bool InputWaiting => false;

    /// <summary>Sends close_notify and shuts down our sending half.</summary>
    ValueTask CloseAsync(CancellationToken cancellationToken = default);

    /// <summary>Drops the connection at once (RST if possible); used when aborting.</summary>
    void Abort();
}
