using Microsoft.Extensions.Configuration;

namespace ActorSync.Configuration;

/// <summary><paramref name="readText"/> returns null when an optional file is missing.</summary>
internal sealed class HoconConfigurationSource(string sourceName, Func<string?> readText) : IConfigurationSource
{
    public IConfigurationProvider Build(IConfigurationBuilder builder) => new HoconConfigurationProvider(sourceName, readText);
}

internal sealed class HoconConfigurationProvider(string sourceName, Func<string?> readText) : ConfigurationProvider
{
    public override void Load()
    {
        string? text = readText();
        Data = text is null
            ? new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
            : new Dictionary<string, string?>(HoconParser.Parse(text, sourceName), StringComparer.OrdinalIgnoreCase);
    }

    public override string ToString() => $"{nameof(HoconConfigurationProvider)} for '{sourceName}'";
}
