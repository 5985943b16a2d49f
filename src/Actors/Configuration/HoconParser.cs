using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace ActorSync.Configuration;

/// <summary>Reads HOCON text into the flat key/value form IConfiguration uses.</summary>
public static class HoconParser
{
    /// <summary>
    /// Parses <paramref name="text"/>; keys are joined with ':' and array elements become "key:0", "key:1", ….
    /// The dictionary is case-insensitive, like IConfiguration. HOCON null gives a null value.
    /// </summary>
    /// <exception cref="HoconException">The text is not valid (in the supported subset); the message names <paramref name="sourceName"/>, line and column.</exception>
    public static IReadOnlyDictionary<string, string?> Parse(string text, string sourceName = "<string>")
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(sourceName);
        var root = HoconReader.Read(text, sourceName);
        var result = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        Flatten(root, null, result);
        return result;
    }

    private static void Flatten(HoconNode node, string? prefix, Dictionary<string, string?> output)
    {
        switch (node)
        {
            case HoconObject obj:
                // An empty object or array still gets a (null) key so its section exists, as with the JSON provider.
                if (obj.Fields.Count == 0 && prefix is not null) output[prefix] = null;
                foreach (var (key, child) in obj.Fields)
                    Flatten(child, prefix is null ? key : prefix + ConfigurationPath.KeyDelimiter + key, output);
                break;
            case HoconArray array:
                if (array.Items.Count == 0) output[prefix!] = null;
                for (int i = 0; i < array.Items.Count; i++)
                    Flatten(array.Items[i], prefix + ConfigurationPath.KeyDelimiter + i.ToString(CultureInfo.InvariantCulture), output);
                break;
            case HoconScalar scalar:
                output[prefix!] = scalar.Value;
                break;
        }
    }
}
