namespace ActorSync.Engine;

/// <summary>Process exit statuses, one per kind of outcome, so scripts can tell them apart.</summary>
public static class ExitCodes
{
    public const int Success = 0;
    /// <summary>The transfer failed or is incomplete (unreadable source files, broken streams, disk full).</summary>
    public const int TransferFailed = 1;
    public const int Usage = 2;
    public const int AuthenticationFailed = 3;
    /// <summary>Tampered records, malformed frames, refused paths.</summary>
    public const int ProtocolViolation = 4;
    /// <summary>The other side could not be started over ssh (ssh failed, or actorsync is not on the remote machine):
    /// rsync's 5, "error starting client-server protocol".</summary>
    public const int RemoteStartFailed = 5;
    /// <summary>--max-delete stopped some deletions (the copy itself is complete): rsync's 25.</summary>
    public const int MaxDeleteReached = 25;
}
