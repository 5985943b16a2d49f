using System.Diagnostics;
using System.Security.Cryptography;

namespace ActorSync.Transport.Records;

/// <summary>
/// What this machine's CPU needs to protect a dataset's bytes the way a transfer does: seal them into TLS 1.3 records
/// of 2^14 bytes (a chunk of <paramref name="chunk"/> bytes at a time, as a stream sends them) and open them again,
/// single-threaded, each timed apart. The benchmark's crypto floor: no copier that encrypts with this cipher in
/// userspace can move the bytes faster than this work takes spread over the machine's cores.
/// </summary>
internal static class CryptoFloor
{
    public static (TimeSpan Seal, TimeSpan Open) Measure(CipherSuite suite, long bytes, int chunk)
    {
        var keys = new TrafficKeys(suite, RandomNumberGenerator.GetBytes(suite.KeyLength()), RandomNumberGenerator.GetBytes(TrafficKeys.IvLength));
        using var sealer = new RecordSealer(keys);
        using var opener = new RecordOpener(keys);
        byte[] plaintext = RandomNumberGenerator.GetBytes(chunk);
        byte[] records = new byte[TlsRecord.SealedLength(chunk)];
        long seal = 0, open = 0;
        for (long done = 0; done < bytes; done += chunk)
        {
            int n = (int)Math.Min(chunk, bytes - done);
            long t0 = Stopwatch.GetTimestamp();
            int sealedLength = sealer.Seal(plaintext.AsSpan(0, n), records);
            long t1 = Stopwatch.GetTimestamp();
            for (int at = 0; at < sealedLength;)
            {
                int length = RecordOpener.RecordLength(records.AsSpan(at));
                opener.Open(records.AsSpan(at, length), out _, out _);
                at += length;
            }
            long t2 = Stopwatch.GetTimestamp();
            seal += t1 - t0;
            open += t2 - t1;
        }
        return (Stopwatch.GetElapsedTime(0, seal), Stopwatch.GetElapsedTime(0, open));
    }
}
