using System.Net;
using ActorSync.Engine;
using ActorSync.Transport.Handshake;

namespace ActorSync.Hosting;

/// <summary>
/// The registry key of ActorSync's actor in a host's ActorSystem (<c>IRequiredActor&lt;ActorSyncCoordinator&gt;</c>,
/// or <c>ActorRegistry.Get&lt;ActorSyncCoordinator&gt;()</c>). Tell it a <see cref="StartSend"/> or
/// <see cref="StartReceive"/>; the sender of the request gets <see cref="TransferStarted"/>, then
/// <see cref="TransferProgress"/> every <c>ProgressEvery</c> and once more at the end, then
/// <see cref="TransferCompleted"/>. A request that cannot start gets only its <see cref="TransferCompleted"/>.
/// </summary>
public sealed class ActorSyncCoordinator
{
    private ActorSyncCoordinator()
    {
    }
}

/// <summary>Copy the contents of <paramref name="Source"/> to the receiver at Host:Port.</summary>
/// <param name="Options">Null: the options of the system's configuration (actorsync section).</param>
public sealed record StartSend(string Source, string Host, int Port, SharedSecret Secret, TransferOptions? Options = null, TimeSpan? ProgressEvery = null);

/// <summary>Receive one transfer (or, with <paramref name="Serve"/>, every transfer until cancelled) into
/// <paramref name="Destination"/> on <paramref name="Listen"/> (port 0: any free one; TransferStarted says which).</summary>
public sealed record StartReceive(string Destination, IPEndPoint Listen, SharedSecret Secret, bool Serve = false, TransferOptions? Options = null, TimeSpan? ProgressEvery = null);

/// <summary>Stop a running transfer: it ends with a <see cref="TransferCompleted"/> saying so.</summary>
public sealed record CancelTransfer(Guid TransferId);

/// <param name="ListeningOn">For a receive: where it listens.</param>
public sealed record TransferStarted(Guid TransferId, IPEndPoint? ListeningOn);

public sealed record TransferProgress(Guid TransferId, long FilesDone, long FilesFound, long BytesDone, long BytesFound, bool WalkComplete, TimeSpan Elapsed);

/// <summary>The transfer's summary (exit code, counts, problems), as the CLI prints it. A --serve receive sends
/// one per transfer it took, and its last when cancelled.</summary>
public sealed record TransferCompleted(Guid TransferId, TransferSummary Summary, bool Final = true);
