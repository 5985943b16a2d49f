namespace ActorSync.Configuration;

// The parse tree is kept until the whole text is read because HOCON merges a later object into an earlier one
// at the same path, and substitutions copy subtrees.
internal abstract class HoconNode
{
    public abstract HoconNode Clone();
}

internal sealed class HoconObject : HoconNode
{
    // Case-insensitive like IConfiguration, so "Foo" and "foo" merge here instead of clashing once flattened.
    public Dictionary<string, HoconNode> Fields { get; } = new(StringComparer.OrdinalIgnoreCase);

    public override HoconObject Clone()
    {
        var copy = new HoconObject();
        foreach (var (key, value) in Fields) copy.Fields[key] = value.Clone();
        return copy;
    }

    /// <summary>HOCON's merge: fields that are objects on both sides merge recursively, anything else is replaced.</summary>
    public void MergeFrom(HoconObject other)
    {
        foreach (var (key, value) in other.Fields)
        {
            if (value is HoconObject incoming && Fields.TryGetValue(key, out var existing) && existing is HoconObject current)
                current.MergeFrom(incoming);
            else
                Fields[key] = value;
        }
    }
}

internal sealed class HoconArray : HoconNode
{
    public List<HoconNode> Items { get; } = [];

    public override HoconArray Clone()
    {
        var copy = new HoconArray();
        foreach (var item in Items) copy.Items.Add(item.Clone());
        return copy;
    }
}

/// <summary>A string, number or boolean as text, or null for HOCON's null.</summary>
internal sealed class HoconScalar(string? value) : HoconNode
{
    public string? Value { get; } = value;

    public override HoconScalar Clone() => this; // immutable
}
