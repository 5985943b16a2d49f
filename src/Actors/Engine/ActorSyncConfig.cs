using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace ActorSync.Engine;

/// <summary>
/// The engine's configuration in Akka's HOCON: the built-in config/akka.hocon, then a file (--config or
/// ACTORSYNC_CONFIG), then command-line values. The layers are read as one document, in that order, by Akka's
/// own parser, so a later layer overrides an earlier one and a substitution anywhere sees the final value of
/// its path in every layer (a file may say <c>streams = ${actorsync.pipeline.readers}</c>).
/// </summary>
public static partial class ActorSyncConfig
{
    /// <summary>The path every ActorSync setting lives under.</summary>
    public const string Section = "actorsync";

    private const string ResourceName = "akka.hocon";
    private const string BuiltInName = "config/akka.hocon (built in)";

    private static readonly Lazy<string> DefaultTextLazy = new(() =>
    {
        using var stream = typeof(ActorSyncConfig).Assembly.GetManifestResourceStream(ResourceName)
                           ?? throw new InvalidOperationException($"the {ResourceName} resource is missing from the build");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    });

    private static readonly Lazy<Config> DefaultLazy = new(() => ConfigurationFactory.ParseString(DefaultTextLazy.Value));

    /// <summary>The built-in defaults (config/akka.hocon) as text, for a host that layers its own HOCON on top.</summary>
    public static string DefaultText => DefaultTextLazy.Value;

    /// <summary>The built-in defaults: a host's <c>config.WithFallback(ActorSyncConfig.Default)</c> keeps them under its own.</summary>
    public static Config Default => DefaultLazy.Value;

    /// <summary>
    /// The built-in defaults, then <paramref name="file"/> (when given), then <paramref name="overrides"/>
    /// (HOCON paths to plain values), parsed as one document. An include in the file is resolved against the
    /// file's directory (Akka's parser reads an included file on its own: substitutions inside it see only it).
    /// </summary>
    /// <exception cref="FormatException">One line: where the text is malformed, or which substitution is unresolved.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static Config Load(string? file = null, IEnumerable<KeyValuePair<string, string>>? overrides = null)
    {
        var layers = new List<(string Name, string Text)> { (BuiltInName, DefaultText) };
        string? directory = null;
        if (!string.IsNullOrEmpty(file))
        {
            string full = Path.GetFullPath(file);
            if (!File.Exists(full)) throw new FileNotFoundException($"{file}: no such file", file);
            layers.Add((file, File.ReadAllText(full)));
            directory = Path.GetDirectoryName(full);
        }
        if (overrides is not null)
        {
            var text = new StringBuilder();
            foreach (var (path, value) in overrides) text.Append(path).Append(" = ").Append(Quote(value)).Append('\n');
            if (text.Length > 0) layers.Add(("the command line", text.ToString()));
        }
        return Parse(layers, directory);
    }

    /// <summary>Parses <paramref name="layers"/> as one document; a failure names the layer and line it is in.</summary>
    internal static Config Parse(IReadOnlyList<(string Name, string Text)> layers, string? includeDirectory)
    {
        var document = new StringBuilder();
        var starts = new int[layers.Count];
        for (int i = 0; i < layers.Count; i++)
        {
            starts[i] = document.Length;
            // A newline between layers: the last line of one must not run into the first of the next.
            document.Append(layers[i].Text).Append('\n');
        }
        try
        {
            return ConfigurationFactory.ParseString(document.ToString(), name => IncludeFile(name, includeDirectory));
        }
        catch (Exception e) when (e is FormatException or ConfigurationException or ArgumentException or InvalidOperationException)
        {
            throw new FormatException(Describe(e, document.ToString(), layers, starts), e);
        }
    }

    private static HoconRoot IncludeFile(string name, string? directory)
    {
        string path = Path.IsPathRooted(name) || directory is null ? name : Path.Join(directory, name);
        if (!File.Exists(path)) throw new FormatException($"include \"{name}\": no such file ({path})");
        return Parser.Parse(File.ReadAllText(path), n => IncludeFile(n, Path.GetDirectoryName(Path.GetFullPath(path))));
    }

    /// <summary>Akka's messages span lines (a caret under the text); the first line, with the position turned into
    /// a layer's name, line and column, is what a user needs.</summary>
    private static string Describe(Exception e, string document, IReadOnlyList<(string Name, string Text)> layers, int[] starts)
    {
        string first = e.Message.Split('\n', 2)[0].Trim();
        var match = PositionPattern().Match(first);
        if (!match.Success || !int.TryParse(match.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out int position))
            return first.TrimEnd(':');
        position = Math.Clamp(position, 0, document.Length);
        int layer = Array.FindLastIndex(starts, s => s <= position);
        int offset = position - starts[layer];
        string text = layers[layer].Text;
        int line = 1 + text.AsSpan(0, Math.Min(offset, text.Length)).Count('\n');
        int column = offset - (text.LastIndexOf('\n', Math.Max(0, Math.Min(offset, text.Length) - 1)) + 1) + 1;
        string reason = first[..match.Index].TrimEnd(' ', ':');
        return $"{layers[layer].Name}:{line}:{column}: {reason}";
    }

    /// <summary>A command-line value as a HOCON string: quoted, so no character of it is read as syntax.</summary>
    private static string Quote(string value)
    {
        var s = new StringBuilder(value.Length + 2).Append('"');
        foreach (char c in value)
        {
            if (c is '"' or '\\') s.Append('\\').Append(c);
            else if (c < ' ') s.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            else s.Append(c);
        }
        return s.Append('"').ToString();
    }

    [GeneratedRegex(@"at position (\d+)")]
    private static partial Regex PositionPattern();

    /// <summary>Every leaf path under <see cref="Section"/> in <paramref name="config"/>.</summary>
    internal static IEnumerable<string> Leaves(Config config)
    {
        if (!config.HasPath(Section)) yield break;
        var root = config.GetValue(Section);
        if (!root.IsObject())
        {
            yield return Section;
            yield break;
        }
        var pending = new Stack<(string Path, HoconObject Object)>();
        pending.Push((Section, root.GetObject()));
        while (pending.Count > 0)
        {
            var (path, obj) = pending.Pop();
            foreach (var (key, value) in obj.Items)
            {
                string child = $"{path}.{key}";
                if (value.IsObject()) pending.Push((child, value.GetObject()));
                else yield return child;
            }
        }
    }
}
