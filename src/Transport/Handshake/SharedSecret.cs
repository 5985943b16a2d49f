using System.Security.Cryptography;
using System.Text;

namespace ActorSync.Transport.Handshake;

/// <summary>The pre-shared secret both ends hold. It is only ever an HKDF input; it never crosses the wire.</summary>
public sealed class SharedSecret
{
    /// <summary>Below this many characters a passphrase can be brute-forced offline from one captured handshake.</summary>
    public const int WeakBelowCharacters = 20;
    /// <summary>keygen: 256 bits of CSPRNG output.</summary>
    public const int GeneratedBytes = 32;

    private SharedSecret(byte[] material, string origin)
    {
        Material = material;
        Origin = origin;
    }

    internal byte[] Material { get; }

    /// <summary>Where it came from (file path, environment variable, command line), for messages.</summary>
    public string Origin { get; }

    public bool IsWeak => Material.Length < WeakBelowCharacters;

    /// <summary>Surrounding whitespace (a trailing newline from an editor or `echo`) is not part of the secret.</summary>
    public static SharedSecret FromText(string text, string origin)
    {
        string trimmed = text.Trim();
        if (trimmed.Length == 0) throw new ArgumentException($"the secret from {origin} is empty");
        return new SharedSecret(Encoding.UTF8.GetBytes(trimmed), origin);
    }

    public static SharedSecret FromFile(string path)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"cannot read secret file {path}: {e.Message}");
        }
        return FromText(text, path);
    }

    /// <summary>A fresh 256-bit secret as 64 hex characters, written so only the owner can read it.</summary>
    public static void Generate(string path)
    {
        string hex = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(GeneratedBytes));
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        };
        using var stream = new FileStream(path, options);
        stream.Write(Encoding.ASCII.GetBytes(hex + "\n"));
    }
}
