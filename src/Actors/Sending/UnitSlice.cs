namespace ActorSync.Sending;

/// <summary>
/// Which slice of a split directory a name belongs to: a 64-bit FNV-1a of the name modulo the slices, the same on
/// every node, so the slices of a directory are disjoint and together cover it whatever order each node lists it in.
/// </summary>
internal static class UnitSlice
{
    public static bool Mine(string name, int slice, int slices) => slices <= 1 || (int)(Hash(name) % (ulong)slices) == slice;

    public static ulong Hash(string text)
    {
        ulong h = 14695981039346656037;
        foreach (char c in text) h = (h ^ c) * 1099511628211;
        return h;
    }
}
