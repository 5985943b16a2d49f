namespace ActorSync.Transport.Frames;

/// <summary>
/// The one place a peer's path is judged. A valid path is relative, '/'-separated, has no empty, '.' or '..'
/// component, no NUL, components of at most NAME_MAX bytes and at most PATH_MAX bytes in all.
/// </summary>
public static class RelativePath
{
    /// <summary>The receiver's own working area under DEST; a peer may not name it.</summary>
    public const string ReservedTopLevel = ".actorsync";

    public static bool IsValid(string path, out string? reason)
    {
        reason = Check(path);
        return reason is null;
    }

    public static void Validate(string path)
    {
        if (Check(path) is { } reason) ThrowHelper.ThrowProtocol($"refused path \"{Shortened(path)}\": {reason}");
    }

    private static string? Check(string path)
    {
        if (path.Length == 0) return "empty";
        if (path[0] == '/') return "absolute";
        if (path.Contains('\0')) return "contains NUL";
        if (FileNames.GetByteCount(path) > FrameLimits.MaxPathBytes) return "longer than PATH_MAX";
        int start = 0;
        bool first = true;
        while (start <= path.Length)
        {
            int slash = path.IndexOf('/', start);
            int end = slash < 0 ? path.Length : slash;
            var component = path.AsSpan(start, end - start);
            if (component.Length == 0) return "empty component";
            if (component is "." or "..") return "'.' or '..' component";
            if (FileNames.GetByteCount(component) > FrameLimits.MaxNameBytes) return "component longer than NAME_MAX";
            if (first && component.SequenceEqual(ReservedTopLevel)) return "reserved name";
            first = false;
            if (slash < 0) break;
            start = slash + 1;
        }
        return null;
    }

    /// <summary>A path for people: escaped like <c>ls -b</c> (<see cref="FileNames.Printable"/>), never lossy.</summary>
    public static string Printable(string path) => FileNames.Printable(path);

    /// <summary>A peer's refused path in an error message: escaped, and cut short (it may be 4 KiB of junk).</summary>
    private static string Shortened(string path)
    {
        string s = FileNames.Printable(path);
        return s.Length > 200 ? s[..200] + "..." : s;
    }

    /// <summary>Splits "a/b/c" into ("a/b", "c"); the parent of a top-level name is "".</summary>
    public static (string Parent, string Name) Split(string path)
    {
        int slash = path.LastIndexOf('/');
        return slash < 0 ? ("", path) : (path[..slash], path[(slash + 1)..]);
    }
}
