using ActorSync.Transport;
using ActorSync.Transport.Frames;
using ActorSync.Transport.Records;
using System.Globalization;
using Akka.Configuration;

namespace ActorSync.Engine;

/// <summary>
/// Every tunable of the engine. Defaults live in config/akka.hocon (section "actorsync"); command-line flags
/// override them. Read once per transfer.
/// </summary>
public sealed record TransferOptions
{
    public int Streams { get; init; } = 8;
    public CipherSuite Cipher { get; init; } = CipherSuite.Aes128Gcm;
    /// <summary>Receiver: the only cipher it accepts (recv --cipher); null accepts either.</summary>
    public CipherSuite? AcceptCipher { get; init; }
    /// <summary>auto: kTLS where the kernel has it; kernel: kTLS or exit 2; user: userspace AES-GCM.</summary>
    public TlsMode Tls { get; init; } = TlsMode.Auto;
    /// <summary>Large files go to kernel-TLS streams by sendfile(2) (page cache to socket, no user copy).</summary>
    public bool Sendfile { get; init; } = true;
    /// <summary>Tests: send large files by reference (the sendfile path) on userspace streams too.</summary>
    internal bool FileRangesForTests { get; init; }
    /// <summary>Decide "up to date" by SHA-256 of the content instead of size and mtime (rsync -c).</summary>
    public bool Checksum { get; init; }
    /// <summary>Names of one inode stay one inode (rsync -H); off: each name is copied as its own file.</summary>
    public bool PreserveHardLinks { get; init; } = true;
    /// <summary>Numeric owners (applied by a root receiver) and groups (by root, or to a group the receiver is in).</summary>
    public bool PreserveOwner { get; init; } = true;
    public bool PreserveGroup { get; init; } = true;
    /// <summary>Extended attributes (-X): all but system.*, on files and directories.</summary>
    public bool PreserveAttributes { get; init; }
    /// <summary>The receiver makes everything durable (one syncfs) before it confirms the transfer (--fsync).</summary>
    public bool Fsync { get; init; }
    /// <summary>Bytes per second all the streams of a send may put on the wire together (--bwlimit); 0: no cap.</summary>
    public long BandwidthLimit { get; init; }
    /// <summary>SO_SNDBUF/SO_RCVBUF per stream (see <see cref="SecureConnection.DefaultSocketBuffer"/>).</summary>
    public int SocketBuffer { get; init; } = SecureConnection.DefaultSocketBuffer;
    /// <summary>Plaintext per pooled buffer: one read() of a large file, or one batch of small files.</summary>
    public int ChunkSize { get; init; } = 256 << 10;
    /// <summary>Sender and receiver each cap the memory of their chunk buffers at this.</summary>
    public long BufferMemory { get; init; } = 64L << 20;
    public int Readers { get; init; } = 4;
    public int Writers { get; init; } = 4;
    /// <summary>Entries the walk may queue for the readers before it waits for them to pull.</summary>
    public int WalkAhead { get; init; } = 256;
    /// <summary>Commands a connection may have outstanding at each writer (credits the writer grants back).</summary>
    public int WriterCredits { get; init; } = 16;
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(120);
    public int MaxRestarts { get; init; } = 5;
    public TimeSpan MinBackoff { get; init; } = TimeSpan.FromMilliseconds(100);
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>The restart budget counts restarts within this window (a long transfer may see several resets);
    /// infinite counts them over the whole transfer.</summary>
    public TimeSpan RestartWindow { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>How long the receiver waits for a lost stream to be re-established before failing the transfer.</summary>
    public TimeSpan RejoinGrace { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>How long every stream a transfer announces has to join it, from its first stream.</summary>
    public TimeSpan JoinTimeout { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Acks are batched: one frame per this many committed files (or at the end).</summary>
    public int AckBatch { get; init; } = 256;
    /// <summary>Keep setuid/setgid/sticky bits (off by default: a received file must not gain privileges).</summary>
    public bool PreserveSpecialBits { get; init; }
    /// <summary>Files at least this big are received resumably (into .actorsync/partial, with a journal); smaller ones
    /// into a temporary, which an interruption keeps only once it is finished.</summary>
    public long ResumeThreshold { get; init; } = 1L << 20;
    /// <summary>A resumable file's prefix is made durable (fsync + journal record) each time it grows by this much.</summary>
    public long CheckpointEvery { get; init; } = 64L << 20;
    /// <summary>How long a new transfer waits for another one to let go of DEST before it is refused; infinite waits until it does.</summary>
    public TimeSpan LockWait { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Connections a receiver handles at once (handshakes included); more are closed on accept.</summary>
    public int MaxConnections { get; init; } = 128;
    /// <summary>Transfers a --serve receiver runs at once; another is refused as busy.</summary>
    public int MaxTransfers { get; init; } = 4;

    /// <summary>Sender: rsync's include/exclude rules (--exclude, --include, --exclude-from); null sends everything.</summary>
    public FilterRules? Filter { get; init; }
    /// <summary>Sender: a file listing the paths (relative to the source) to send, one per line, instead of walking
    /// the whole tree (rsync's --files-from; "-" is standard input). Their parent directories are sent too; a listed
    /// directory is created, not descended into, as rsync does without -r.</summary>
    public string? FilesFrom { get; init; }
    /// <summary>Sender: entries of DEST the source lacks are removed once everything else is in place, and never when
    /// any source entry failed (rsync's --delete, deleting after the transfer). What <see cref="Filter"/> excludes is
    /// protected.</summary>
    public bool Delete { get; init; }
    /// <summary>With <see cref="Delete"/>: at most this many deletions (files and directories); the rest are skipped and
    /// the transfer's exit status is <see cref="ExitCodes.MaxDeleteReached"/>. -1: no limit.</summary>
    public long MaxDelete { get; init; } = -1;
    /// <summary>Sender: nothing is written anywhere; what would be sent, what is up to date and (with
    /// <see cref="Delete"/>) what would be deleted are reported by name (<see cref="TransferStats.OnItem"/>).</summary>
    public bool DryRun { get; init; }
    /// <summary>A pull's receiver: what this side asked the remote sender for (<see cref="Delete"/>, <see cref="DryRun"/>,
    /// <see cref="MaxDelete"/>), so a sender that asks for more (deleting without --delete, writing in a dry run, past
    /// --max-delete) is refused, not obeyed. Null: the sender decides, as with a plain receiver.</summary>
    internal PullIntent? Pull { get; init; }

    /// <summary>Cluster jobs: directories with more entries than this are sent as several units (cluster.unit-entries).</summary>
    public int UnitEntries { get; init; } = 10_000;

    /// <summary>Cluster jobs: files larger than this go in ranges of this size, each a unit any sender node may take
    /// (cluster.range-size). 256 MiB: a range is seconds of one stream's work, so its handshake and fsync are noise,
    /// and a 4 GiB file is already 16 units to spread.</summary>
    public long UnitRangeBytes { get; init; } = 256L << 20;

    /// <summary>Cluster jobs: a unit of several small directories takes no further one once its files reach this many
    /// bytes (cluster.batch-bytes); the rest go to other units. 64 MiB: under a second of a node's work, over which a
    /// unit's handshake (~10 ms) is noise, and small enough that a batch of directories of big files is no node's
    /// whole share.</summary>
    public long UnitBatchBytes { get; init; } = 64L << 20;

    /// <summary>Chunk buffers each side may have: buffer-memory's worth (validated to hold at least <see cref="MinimumBuffers"/>).</summary>
    public int BufferCount => (int)(BufferMemory / ChunkSize);

    /// <summary>One buffer per stream and per reader in flight, plus two to turn over: fewer and the pipeline stalls.</summary>
    public int MinimumBuffers => Streams + Readers + 2;

    /// <summary>
    /// The sender's chunk buffers: what its streams can have in flight, not all of buffer-memory. Per stream, its own
    /// send buffer and the receiver's receive buffer (a socket-buffer each) and the acknowledgement interval, in
    /// chunks, and the one being sent; per reader, the batch it packs and one on its way. More would only wait in the
    /// streams' queues: on 100K small files (ml_large) 96 buffers ran as fast as 256, with 40 MiB less RSS.
    /// </summary>
    public int SenderBufferCount =>
        (int)Math.Min(BufferCount, Streams * ((2L * SocketBuffer + FrameLimits.AckEvery) / ChunkSize + 1) + 2 * Readers + 2);

    /// <summary>
    /// The receiver's chunk buffers for a transfer of <paramref name="streams"/> streams: <see cref="WriterQueueChunks"/>
    /// per writer and two per stream being read into. More only let data wait in memory for a writer that is not faster
    /// for it.
    /// </summary>
    public int ReceiverBufferCount(int streams) => (int)Math.Min(BufferCount, (long)Writers * WriterQueueChunks + 2L * streams + 2);

    /// <summary>Chunks of data a writer may have waiting for it: while it writes one, the next few are read and decrypted
    /// (which takes less time than the write), so a writer never waits for a connection.</summary>
    private const int WriterQueueChunks = 4;

    /// <summary>The special-bits mask applied to received modes: rwx for all, plus setuid/setgid/sticky if configured.</summary>
    public uint ModeMask => PreserveSpecialBits ? 0xFFFu : 0x1FFu;

    /// <summary>
    /// Binds the "actorsync" section of <paramref name="config"/> (see <see cref="ActorSyncConfig"/>): sizes and
    /// durations as Akka's HOCON reads them ("256KiB", "10s", "infinite"). Every value is checked alone and
    /// against the others it depends on, and every key must be one ActorSync has (a misspelt key would otherwise
    /// be ignored); a bad one is a <see cref="FormatException"/> naming its key (exit 2), never a crash later.
    /// </summary>
    public static TransferOptions FromConfig(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var known = KnownKeys.Value;
        foreach (string key in ActorSyncConfig.Leaves(config))
            if (!known.Contains(key)) throw new FormatException($"{key}: not a setting of ActorSync (config/akka.hocon lists them all)");
        var s = config;
        var d = new TransferOptions();
        var o = new TransferOptions
        {
            Streams = Int(s, "transfer.streams", d.Streams, 1, 256),
            Cipher = ParseCipher(Text(s, "transfer.cipher")) ?? d.Cipher,
            AcceptCipher = ParseAcceptCipher(Text(s, "receive.accept-cipher")),
            Tls = ParseTls(Text(s, "transfer.tls")) ?? d.Tls,
            Sendfile = Bool(s, "transfer.sendfile", d.Sendfile),
            Checksum = Bool(s, "transfer.checksum", d.Checksum),
            PreserveHardLinks = Bool(s, "transfer.hard-links", d.PreserveHardLinks),
            PreserveOwner = Bool(s, "transfer.owner", d.PreserveOwner),
            PreserveGroup = Bool(s, "transfer.group", d.PreserveGroup),
            PreserveAttributes = Bool(s, "transfer.xattrs", d.PreserveAttributes),
            Fsync = Bool(s, "transfer.fsync", d.Fsync),
            ChunkSize = (int)Size(s, "transfer.chunk-size", d.ChunkSize, 64 << 10, 16 << 20),
            SocketBuffer = (int)Size(s, "transfer.socket-buffer", d.SocketBuffer, 64 << 10, 256 << 20),
            BandwidthLimit = Size(s, "transfer.bwlimit", d.BandwidthLimit, 0, 1L << 50),
            BufferMemory = Size(s, "memory.buffer-memory", d.BufferMemory, 1 << 20, 64L << 30),
            Readers = Int(s, "pipeline.readers", d.Readers, 1, 64),
            Writers = Int(s, "pipeline.writers", d.Writers, 1, 64),
            WalkAhead = Int(s, "pipeline.walk-ahead", d.WalkAhead, 1, 1 << 20),
            WriterCredits = Int(s, "pipeline.writer-credits", d.WriterCredits, 2, 1 << 20),
            HandshakeTimeout = Duration(s, "timeouts.handshake", d.HandshakeTimeout, allowZero: false),
            ConnectTimeout = Duration(s, "timeouts.connect", d.ConnectTimeout, allowZero: false),
            // Infinite would let a silent peer hold a receiver for ever.
            IdleTimeout = Duration(s, "timeouts.idle", d.IdleTimeout, allowZero: false),
            MaxRestarts = Int(s, "supervision.max-restarts", d.MaxRestarts, 0, 1000),
            MinBackoff = Duration(s, "supervision.min-backoff", d.MinBackoff, allowZero: false),
            MaxBackoff = Duration(s, "supervision.max-backoff", d.MaxBackoff, allowZero: false),
            RestartWindow = Duration(s, "supervision.restart-window", d.RestartWindow, allowZero: false, allowInfinite: true),
            RejoinGrace = Duration(s, "timeouts.rejoin-grace", d.RejoinGrace, allowZero: true),
            JoinTimeout = Duration(s, "timeouts.join", d.JoinTimeout, allowZero: false),
            AckBatch = Int(s, "transfer.ack-batch", d.AckBatch, 1, FrameLimits.MaxAcksPerFrame),
            PreserveSpecialBits = Bool(s, "receive.preserve-special-bits", d.PreserveSpecialBits),
            ResumeThreshold = Size(s, "receive.resume-threshold", d.ResumeThreshold, 1 << 20, long.MaxValue),
            CheckpointEvery = Size(s, "receive.checkpoint-every", d.CheckpointEvery, 1 << 20, long.MaxValue),
            LockWait = Duration(s, "receive.lock-wait", d.LockWait, allowZero: true, allowInfinite: true),
            MaxConnections = Int(s, "receive.max-connections", d.MaxConnections, 1, 65536),
            MaxTransfers = Int(s, "receive.max-transfers", d.MaxTransfers, 1, 1024),
            UnitEntries = Int(s, "cluster.unit-entries", d.UnitEntries, 10, 10_000_000),
            UnitRangeBytes = Size(s, "cluster.range-size", d.UnitRangeBytes, 1 << 20, 1L << 50),
            UnitBatchBytes = Size(s, "cluster.batch-bytes", d.UnitBatchBytes, 1 << 10, 1L << 50),
        };
        o.Validate();
        return o;
    }

    /// <summary>The checks that relate values to each other (also for options built in code, e.g. by the CLI's flags).</summary>
    public void Validate()
    {
        if (MinBackoff > MaxBackoff)
            throw new FormatException($"actorsync.supervision.min-backoff = {Show(MinBackoff)} is above max-backoff = {Show(MaxBackoff)}");
        if ((long)BufferCount < MinimumBuffers)
            throw new FormatException($"actorsync.memory.buffer-memory = {BufferMemory >> 10}KiB holds {BufferCount} chunks of {ChunkSize >> 10}KiB; " +
                                      $"{Streams} streams and {Readers} readers need at least {MinimumBuffers} ({(long)MinimumBuffers * ChunkSize >> 20}MiB)");
        if (Streams > ushort.MaxValue) throw new FormatException($"actorsync.transfer.streams = {Streams}: too many");
    }

    private static string Show(TimeSpan t) => t == Timeout.InfiniteTimeSpan ? "infinite" : $"{t.TotalMilliseconds:0.###}ms";

    private static readonly Lazy<HashSet<string>> KnownKeys = new(() => ActorSyncConfig.Leaves(ActorSyncConfig.Default).ToHashSet(StringComparer.Ordinal));

    /// <summary>The value at actorsync.<paramref name="key"/> as written; null when absent (the default applies).</summary>
    private static string? Text(Config s, string key)
    {
        string path = $"{ActorSyncConfig.Section}.{key}";
        if (!s.HasPath(path)) return null;
        var value = s.GetValue(path);
        // Akka's parser keeps a key with nothing after '=' (or a broken value) as an empty value.
        string? text = value.IsObject() || value.IsArray() ? null : value.GetString();
        return string.IsNullOrWhiteSpace(text) ? throw new FormatException($"{path}: no value (expected one on the same line)") : text.Trim();
    }

    private static int Int(Config s, string key, int fallback, int min, int max)
    {
        string? text = Text(s, key);
        if (text is null) return fallback;
        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int v) || v < min || v > max)
            throw new FormatException($"actorsync.{key} = \"{text}\": expected a whole number from {min} to {max}");
        return v;
    }

    private static long Size(Config s, string key, long fallback, long min, long max)
    {
        string? text = Text(s, key);
        if (text is null) return fallback;
        long? v;
        try { v = s.GetByteSize($"{ActorSyncConfig.Section}.{key}"); }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentException) { v = null; }
        if (v is not { } bytes || bytes < min || bytes > max)
            throw new FormatException($"actorsync.{key} = \"{text}\": expected a size from {min} to {max} bytes (e.g. 256KiB)");
        return bytes;
    }

    /// <summary>A duration: positive (or zero where that means "at once"), finite unless infinite means something for this key.</summary>
    private static TimeSpan Duration(Config s, string key, TimeSpan fallback, bool allowZero, bool allowInfinite = false)
    {
        string? text = Text(s, key);
        if (text is null) return fallback;
        string name = $"actorsync.{key}";
        TimeSpan v;
        try { v = s.GetTimeSpan(name, null, allowInfinite: true); }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
        {
            throw new FormatException($"{name} = \"{text}\": expected a duration (e.g. 10s, 250ms)");
        }
        if (v == Timeout.InfiniteTimeSpan)
            return allowInfinite ? v : throw new FormatException($"{name} = \"{text}\": must be finite");
        if (v < TimeSpan.Zero || v == TimeSpan.Zero && !allowZero || v > TimeSpan.FromDays(365))
            throw new FormatException($"{name} = \"{text}\": expected a duration {(allowZero ? "from 0" : "above 0")} up to 365 days");
        return v;
    }

    private static bool Bool(Config s, string key, bool fallback)
    {
        string? text = Text(s, key);
        if (text is null) return fallback;
        return bool.TryParse(text, out bool v) ? v : throw new FormatException($"actorsync.{key} = \"{text}\": expected true or false");
    }

    private static CipherSuite? ParseAcceptCipher(string? text)
    {
        if (text is null || text == "any") return null;
        return CipherSuites.TryParse(text, out var c) ? c : throw new FormatException($"actorsync.receive.accept-cipher = \"{text}\": expected any, aes-128-gcm or aes-256-gcm");
    }

    private static TlsMode? ParseTls(string? text)
    {
        if (text is null) return null;
        return TlsModes.TryParse(text, out var m) ? m : throw new FormatException($"actorsync.transfer.tls = \"{text}\": expected auto, kernel or user");
    }

    private static CipherSuite? ParseCipher(string? text)
    {
        if (text is null) return null;
        return CipherSuites.TryParse(text, out var c) ? c : throw new FormatException($"actorsync.transfer.cipher = \"{text}\": expected aes-128-gcm or aes-256-gcm");
    }
}
