namespace ActorSync.Host.Cli.Ssh;

/// <summary>
/// rsync's remote-shell syntax: [USER@]HOST:PATH. A colon before any slash makes it remote ("./a:b" is local); HOST:PORT
/// with a port number is a direct receiver, as before (a remote path of digits alone is written "HOST:./1234"). An
/// empty PATH is the remote home directory, as with rsync and scp.
/// </summary>
internal sealed record RemotePath(string Destination, string Host, string Path)
{
    public static bool TryParse(string text, out RemotePath remote)
    {
        remote = null!;
        int colon;
        if (text.Contains("@[", StringComparison.Ordinal) || text.StartsWith('['))
        {
            int close = text.IndexOf(']');
            if (close < 0 || close + 1 >= text.Length || text[close + 1] != ':') return false;
            colon = close + 1;
        }
        else colon = text.IndexOf(':');
        if (colon <= 0) return false;
        string destination = text[..colon];
        if (destination.Contains('/')) return false;
        string path = text[(colon + 1)..];
        if (path.Length > 0 && path.All(char.IsAsciiDigit)) return false;
        string host = destination[(destination.LastIndexOf('@') + 1)..].Trim('[', ']');
        if (host.Length == 0 || destination.StartsWith('-')) return false;
        remote = new RemotePath(destination, host, path.Length == 0 ? "." : path);
        return true;
    }

    /// <summary>The path as the remote command's argument: it is quoted there, so a leading "~/" (the remote home, which
    /// the remote shell would expand unquoted) becomes a path relative to the home directory ssh starts in.</summary>
    public string RemoteArgument => Path == "~" ? "." : Path.StartsWith("~/", StringComparison.Ordinal) ? Path[2..] is { Length: > 0 } rest ? rest : "." : Path;
}
