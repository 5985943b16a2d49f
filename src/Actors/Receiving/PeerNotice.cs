using ActorSync.Transport;
using ActorSync.Transport.Frames;

namespace ActorSync.Receiving;

/// <summary>Best effort, bounded in time: tell the sender why the receiver stops, so it reports the same cause.</summary>
internal static class PeerNotice
{
    /// <summary>Long enough for a live connection, short enough not to stall on the one that failed.</summary>
    private static readonly TimeSpan SendLimit = TimeSpan.FromMilliseconds(500);

    public static async ValueTask SendErrorAsync(IEnumerable<ISecureChannel> channels, ErrorCode code, string message, bool close = false)
    {
        byte[] frame = new byte[FrameLimits.HeaderLength + 2 + 2 + 1100 * 4];
        int n = FrameWriter.Error(frame, new ErrorFrame(code, message));
        foreach (var channel in channels)
        {
            try
            {
                using var timeout = new CancellationTokenSource(SendLimit);
                await channel.SendAsync(frame.AsMemory(0, n), timeout.Token).ConfigureAwait(false);
                if (close)
                {
                    await channel.CloseAsync(timeout.Token).ConfigureAwait(false);
                    await DrainAsync(channel).ConfigureAwait(false);
                }
            }
            catch (Exception) { /* the connection may be what failed, or the peer is gone */ }
        }
    }

    /// <summary>Long enough for a sender that read the notice to close its side, short enough not to hold a handler.</summary>
    private static readonly TimeSpan DrainLimit = TimeSpan.FromSeconds(1);

    /// <summary>
    /// What the peer sent meanwhile is read and dropped until it closes its side: a socket closed with unread data is
    /// reset, and the reset would discard the notice at the peer before it had read it.
    /// </summary>
    private static async ValueTask DrainAsync(ISecureChannel channel)
    {
        using var limit = new CancellationTokenSource(DrainLimit);
        while (!(await channel.ReceiveAsync(limit.Token).ConfigureAwait(false)).IsEmpty) { }
    }
}
