namespace ActorSync.Transport.Records;

/// <summary>The AEADs a connection can use; the values are the TLS 1.3 cipher-suite code points.</summary>
public enum CipherSuite : ushort
{
    Aes128Gcm = 0x1301,
    Aes256Gcm = 0x1302,
}

internal static class CipherSuites
{
    public static int KeyLength(this CipherSuite suite) => suite switch
    {
        CipherSuite.Aes128Gcm => 16,
        CipherSuite.Aes256Gcm => 32,
        _ => throw new ArgumentOutOfRangeException(nameof(suite), suite, "unsupported cipher suite"),
    };

    public static bool IsDefined(ushort value) => value is (ushort)CipherSuite.Aes128Gcm or (ushort)CipherSuite.Aes256Gcm;

    public static string DisplayName(this CipherSuite suite) => suite == CipherSuite.Aes256Gcm ? "AES-256-GCM" : "AES-128-GCM";

    /// <summary>The spelling --cipher takes.</summary>
    public static string CliName(this CipherSuite suite) => suite == CipherSuite.Aes256Gcm ? "aes-256-gcm" : "aes-128-gcm";

    public static bool TryParse(string text, out CipherSuite suite)
    {
        switch (text.Trim().ToLowerInvariant())
        {
            case "aes-128-gcm" or "aes128gcm" or "aes128" or "aes-128": suite = CipherSuite.Aes128Gcm; return true;
            case "aes-256-gcm" or "aes256gcm" or "aes256" or "aes-256": suite = CipherSuite.Aes256Gcm; return true;
            default: suite = default; return false;
        }
    }
}
