using System.Text;
using System.Text.RegularExpressions;

namespace ActorSync.Engine;

/// <summary>
/// rsync's include/exclude rules (--exclude, --include, --exclude-from, --include-from), with rsync's semantics:
/// the first rule that matches decides, and a name no rule matches is sent. A pattern with a leading "/" is anchored at
/// the transfer's root; otherwise it matches the end of the path at a component boundary (so "foo/bar" matches
/// "x/foo/bar"). A trailing "/" matches directories only; a trailing "/***" matches a directory and everything in it.
/// "*" matches within one component, "**" across components, "?" one character but "/", "[...]" a class ("[!...]"
/// negated), and "\" quotes the next character. A pattern may start with "+ " or "- " to be an include or an exclude
/// whatever the option, and a lone "!" clears the rules before it. An excluded directory is not descended into.
/// </summary>
public sealed class FilterRules
{
    private readonly record struct Rule(bool Include, Regex Match, bool DirectoryOnly, string Text);

    private readonly List<Rule> _rules = [];

    /// <summary>No rules: everything is sent.</summary>
    public bool IsEmpty => _rules.Count == 0;

    /// <summary>The rules as given, one per line ("- pattern" / "+ pattern"), for logs and for the receiver.</summary>
    public IEnumerable<string> Describe() => _rules.Select(r => (r.Include ? "+ " : "- ") + r.Text);

    /// <summary>Adds one rule (<paramref name="include"/>: --include, else --exclude); a "+ "/"- " prefix overrides.
    /// Throws <see cref="FormatException"/> on an empty pattern or an unterminated "[".</summary>
    public FilterRules Add(string pattern, bool include)
    {
        if (pattern == "!")
        {
            _rules.Clear();
            return this;
        }
        if (pattern.StartsWith("+ ", StringComparison.Ordinal) || pattern.StartsWith("- ", StringComparison.Ordinal))
        {
            include = pattern[0] == '+';
            pattern = pattern[2..];
        }
        if (pattern.Length == 0) throw new FormatException("an empty pattern");
        string text = pattern;
        bool everythingBelow = false, directoryOnly = false;
        if (pattern.EndsWith("/***", StringComparison.Ordinal))
        {
            everythingBelow = true;
            pattern = pattern[..^4];
        }
        else if (pattern.EndsWith('/'))
        {
            directoryOnly = true;
            pattern = pattern.TrimEnd('/');
        }
        bool anchored = pattern.StartsWith('/');
        if (anchored) pattern = pattern.TrimStart('/');
        if (pattern.Length == 0) throw new FormatException($"\"{text}\" names no path");
        var regex = new StringBuilder(anchored ? "^" : "(?:^|/)");
        Translate(pattern, text, regex);
        regex.Append(everythingBelow ? "(?:/.*)?$" : "$");
        Regex match;
        try { match = new Regex(regex.ToString(), RegexOptions.CultureInvariant | RegexOptions.Singleline | RegexOptions.NonBacktracking); }
        catch (ArgumentException e) { throw new FormatException($"\"{text}\" is not a pattern ({e.Message})"); }
        _rules.Add(new Rule(include, match, directoryOnly, text));
        return this;
    }

    /// <summary>Adds the patterns of a file, one per line, as rsync's --exclude-from reads them: blank lines and lines
    /// starting with ";" or "#" are skipped. "-" reads standard input.</summary>
    public FilterRules AddFrom(string file, bool include)
    {
        using var reader = file == "-" ? new StreamReader(Console.OpenStandardInput()) : new StreamReader(file);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line[0] is ';' or '#') continue;
            Add(line, include);
        }
        return this;
    }

    /// <summary>Whether the entry at <paramref name="path"/> (relative to the root, "/"-separated) is left out.</summary>
    public bool Excludes(string path, bool directory)
    {
        foreach (var rule in _rules)
        {
            if (rule.DirectoryOnly && !directory) continue;
            if (rule.Match.IsMatch(path)) return !rule.Include;
        }
        return false;
    }

    private static void Translate(string pattern, string text, StringBuilder regex)
    {
        for (int i = 0; i < pattern.Length; i++)
        {
            char c = pattern[i];
            switch (c)
            {
                case '*' when i + 1 < pattern.Length && pattern[i + 1] == '*':
                    regex.Append(".*");
                    while (i + 1 < pattern.Length && pattern[i + 1] == '*') i++;
                    break;
                case '*':
                    regex.Append("[^/]*");
                    break;
                case '?':
                    regex.Append("[^/]");
                    break;
                case '[':
                    i = TranslateClass(pattern, i, text, regex);
                    break;
                case '\\' when i + 1 < pattern.Length:
                    regex.Append(Regex.Escape(pattern[++i].ToString()));
                    break;
                default:
                    regex.Append(Regex.Escape(c.ToString()));
                    break;
            }
        }
    }

    /// <summary>"[...]" from <paramref name="open"/>: a class that never matches "/"; returns the index of its "]".</summary>
    private static int TranslateClass(string pattern, int open, string text, StringBuilder regex)
    {
        int i = open + 1;
        bool negated = i < pattern.Length && pattern[i] is '!' or '^';
        if (negated) i++;
        var members = new StringBuilder();
        // A "]" first in the class is a member, as in POSIX brackets.
        for (bool first = true; i < pattern.Length && (pattern[i] != ']' || first); i++, first = false)
        {
            char c = pattern[i];
            if (c == '\\' && i + 1 < pattern.Length) c = pattern[++i];
            // A class never matches "/", as in rsync's wildmatch.
            if (c == '/') continue;
            if (c == '-' && members.Length > 0 && i + 1 < pattern.Length && pattern[i + 1] != ']') members.Append('-');
            else if (c is '\\' or ']' or '[' or '^' or '-') members.Append('\\').Append(c);
            else members.Append(c);
        }
        if (i >= pattern.Length) throw new FormatException($"\"{text}\" has a \"[\" without its \"]\"");
        if (members.Length == 0 && !negated) throw new FormatException($"\"{text}\" has a class that matches nothing");
        regex.Append(negated ? "[^/" : "[").Append(members).Append(']');
        return i;
    }
}
