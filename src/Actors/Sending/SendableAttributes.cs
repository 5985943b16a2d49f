namespace ActorSync.Sending;

/// <summary>Which extended attributes -X sends.</summary>
internal static class SendableAttributes
{
    /// <summary>
    /// All but the system.* namespace: that holds POSIX ACLs (rsync copies them with -A, not -X) and values the
    /// kernel computes. An entry without any others sends no Attributes frame at all.
    /// </summary>
    public static IReadOnlyList<(string Name, byte[] Value)>? Of(List<(string Name, byte[] Value)>? all)
    {
        if (all is null) return null;
        all.RemoveAll(static a => a.Name.StartsWith("system.", StringComparison.Ordinal));
        return all.Count == 0 ? null : all;
    }
}
