using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Tandem.Collect;

/// <summary>One record read back from the journal: a stored event or a refused one.</summary>
internal readonly record struct JournalRecord(long Number, JournalEvent? Event, JournalRejection? Rejection);

/// <summary>An event as the journal holds it, with everything its row in <c>log.db</c> needs.</summary>
internal sealed record JournalEvent(long Seq, int SourceKey, long ReceivedAtMs, MessageType Type, string MessageId, byte[] Payload);

/// <summary>A refused event as the journal holds it.</summary>
internal sealed record JournalRejection(int SourceKey, long ReceivedAtMs, Rejection Rejection);

/// <summary>
/// The ingest log's write-ahead journal (<c>log.journal</c>): what makes an acknowledgement durable.
/// A group commit is one <c>pwrite</c> of the group's records at the end of the journal and one
/// <c>fdatasync</c>, where a SQLite commit took a dozen writes, six file locks and an fsync. The
/// records are then copied into <c>log.db</c> in large transactions by another thread, and the
/// journal starts over once everything in it is there.
/// </summary>
/// <remarks>
/// Layout: a 4 KiB header (magic, version, generation, number of the first record, CRC-32), then
/// records, each <c>u32 length, u32 CRC-32 of what follows, u64 number, u8 kind, body</c>. Record
/// numbers run on by one across generations; on start, the records read back are those that follow
/// the header's first number without a gap and with a good checksum, so a torn last write and the
/// older records behind the end both read as the end. The file grows in zeroed 1 MiB steps and is
/// then rewritten in place, so that most syncs need no change to the file's size, which
/// <c>fdatasync</c> would otherwise also have to write.
/// </remarks>
internal sealed partial class IngestJournal : IDisposable
{
    public const string FileName = "log.journal";
    private const int HeaderBytes = 4096;
    private const int GrowthBytes = 1 << 20;
    private const uint Magic = 0x4C4E4A54; // "TJNL"
    private const int Version = 1;
    private const int RecordHeaderBytes = 4 + 4 + 8 + 1;
    private const byte EventKind = 1;
    private const byte RejectionKind = 2;

    // Written to grow and to wipe the file; allocated once (a 1 MiB array per growth would cost a full GC).
    private static readonly byte[] Zeros = new byte[GrowthBytes];
    private readonly SafeFileHandle _file;
    private readonly long _restartBytes;
    private long _generation;
    private long _end = HeaderBytes;
    private long _allocated;
    private long _dirtyEnd;

    /// <param name="directory">The data folder.</param>
    /// <param name="restartBytes">Size past which the journal starts over (once its records are in log.db).</param>
    public IngestJournal(string directory, long restartBytes)
    {
        _restartBytes = restartBytes;
        _file = File.OpenHandle(Path.Combine(directory, FileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        _allocated = RandomAccess.GetLength(_file);
        _dirtyEnd = _allocated;
    }

    /// <summary>Number the next record must carry.</summary>
    public long NextNumber { get; private set; } = 1;

    /// <summary>Bytes written since the journal last started over.</summary>
    public long Length => _end - HeaderBytes;

    /// <summary>The records of the current generation, in order; the journal is left as it was.</summary>
    public List<JournalRecord> Recover()
    {
        var records = new List<JournalRecord>();
        if (_allocated < HeaderBytes)
        {
            return records;
        }

        var header = new byte[HeaderBytes];
        RandomAccess.Read(_file, header, 0);
        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != Magic || BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(4)) != Version
            || Crc32.HashToUInt32(header.AsSpan(0, 24)) != BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(24)))
        {
            // Never completed its first header: the journal was being created, nothing was acknowledged from it.
            return records;
        }

        _generation = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(8));
        var expected = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(16));
        // Read at once: the journal starts over at a few tens of MiB, and this runs once, at start.
        var content = new byte[_allocated - HeaderBytes];
        var read = 0;
        while (read < content.Length && RandomAccess.Read(_file, content.AsSpan(read), HeaderBytes + read) is var n and > 0)
        {
            read += n;
        }

        var offset = 0;
        while (offset + RecordHeaderBytes <= read)
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(content.AsSpan(offset));
            if (length < RecordHeaderBytes || length > read - offset)
            {
                break;
            }

            var body = content.AsSpan(offset + 8, length - 8);
            if (Crc32.HashToUInt32(body) != BinaryPrimitives.ReadUInt32LittleEndian(content.AsSpan(offset + 4))
                || BinaryPrimitives.ReadInt64LittleEndian(body) != expected)
            {
                break;
            }

            records.Add(Decode(expected, body[8..]));
            expected++;
            offset += length;
        }

        NextNumber = expected;
        return records;
    }

    /// <summary>
    /// Starts a new generation whose first record is numbered <paramref name="firstNumber"/>. Only
    /// once every record written so far is stored elsewhere: they are no longer read back.
    /// </summary>
    public void Restart(long firstNumber)
    {
        _generation++;
        var header = new byte[HeaderBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(4), Version);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(8), _generation);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(16), firstNumber);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(24), Crc32.HashToUInt32(header.AsSpan(0, 24)));
        EnsureAllocated(GrowthBytes);
        RandomAccess.Write(_file, header, 0);
        _end = HeaderBytes;
        NextNumber = firstNumber;
        Sync();
    }

    /// <summary>
    /// Overwrites every record ever written with zeros and starts a new generation: after events are
    /// deleted from log.db, no copy of them stays here. Only once every record is stored elsewhere.
    /// </summary>
    public void Wipe(long firstNumber)
    {
        for (var at = (long)HeaderBytes; at < _dirtyEnd; at += Zeros.Length)
        {
            RandomAccess.Write(_file, Zeros.AsSpan(0, (int)Math.Min(Zeros.Length, _dirtyEnd - at)), at);
        }

        _dirtyEnd = HeaderBytes;
        Restart(firstNumber);
    }

    /// <summary>Whether <paramref name="bytes"/> more fit before the journal should start over.</summary>
    public bool Fits(int bytes) => _end == HeaderBytes || _end + bytes <= _restartBytes;

    /// <summary>Appends encoded records and makes them durable: returns only after fdatasync.</summary>
    public void Append(ReadOnlySpan<byte> records, int count)
    {
        EnsureAllocated(_end + records.Length);
        RandomAccess.Write(_file, records, _end);
        _end += records.Length;
        _dirtyEnd = Math.Max(_dirtyEnd, _end);
        NextNumber += count;
        Sync();
    }

    /// <summary>Appends an event's record to <paramref name="buffer"/>.</summary>
    public static void EncodeEvent(ArrayBufferWriter<byte> buffer, long number, long seq, int sourceKey, long receivedAtMs, in StampedMessage message)
    {
        var idBytes = Encoding.UTF8.GetByteCount(message.MessageId);
        var length = RecordHeaderBytes + 8 + 4 + 8 + 1 + 2 + idBytes + message.Json.Length;
        var span = Begin(buffer, length, number, EventKind);
        var body = span[RecordHeaderBytes..];
        BinaryPrimitives.WriteInt64LittleEndian(body, seq);
        BinaryPrimitives.WriteInt32LittleEndian(body[8..], sourceKey);
        BinaryPrimitives.WriteInt64LittleEndian(body[12..], receivedAtMs);
        body[20] = (byte)message.Type;
        BinaryPrimitives.WriteUInt16LittleEndian(body[21..], checked((ushort)idBytes));
        Encoding.UTF8.GetBytes(message.MessageId, body[23..]);
        message.Json.CopyTo(body[(23 + idBytes)..]);
        End(buffer, span);
    }

    /// <summary>Appends a refused event's record to <paramref name="buffer"/>.</summary>
    public static void EncodeRejection(ArrayBufferWriter<byte> buffer, long number, int sourceKey, long receivedAtMs, Rejection rejection)
    {
        var reason = Encoding.UTF8.GetBytes(rejection.Reason);
        var field = Encoding.UTF8.GetBytes(rejection.Field);
        var detail = Encoding.UTF8.GetBytes(rejection.Detail);
        var length = RecordHeaderBytes + 4 + 8 + 4 + 4 + reason.Length + 4 + field.Length + 4 + detail.Length + rejection.Payload.Length;
        var span = Begin(buffer, length, number, RejectionKind);
        var body = span[RecordHeaderBytes..];
        BinaryPrimitives.WriteInt32LittleEndian(body, sourceKey);
        BinaryPrimitives.WriteInt64LittleEndian(body[4..], receivedAtMs);
        BinaryPrimitives.WriteInt32LittleEndian(body[12..], rejection.Index ?? -1);
        var at = 16;
        foreach (var text in (ReadOnlySpan<byte[]>)[reason, field, detail])
        {
            BinaryPrimitives.WriteInt32LittleEndian(body[at..], text.Length);
            text.CopyTo(body[(at + 4)..]);
            at += 4 + text.Length;
        }

        rejection.Payload.CopyTo(body[at..]);
        End(buffer, span);
    }

    private static Span<byte> Begin(ArrayBufferWriter<byte> buffer, int length, long number, byte kind)
    {
        var span = buffer.GetSpan(length)[..length];
        BinaryPrimitives.WriteInt32LittleEndian(span, length);
        BinaryPrimitives.WriteInt64LittleEndian(span[8..], number);
        span[16] = kind;
        return span;
    }

    private static void End(ArrayBufferWriter<byte> buffer, Span<byte> span)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(span[4..], Crc32.HashToUInt32(span[8..]));
        buffer.Advance(span.Length);
    }

    private static JournalRecord Decode(long number, ReadOnlySpan<byte> record)
    {
        var kind = record[0];
        var body = record[1..];
        if (kind == EventKind)
        {
            var idBytes = BinaryPrimitives.ReadUInt16LittleEndian(body[21..]);
            return new JournalRecord(number, new JournalEvent(
                BinaryPrimitives.ReadInt64LittleEndian(body), BinaryPrimitives.ReadInt32LittleEndian(body[8..]),
                BinaryPrimitives.ReadInt64LittleEndian(body[12..]), (MessageType)body[20],
                Encoding.UTF8.GetString(body.Slice(23, idBytes)), body[(23 + idBytes)..].ToArray()), null);
        }

        var sourceKey = BinaryPrimitives.ReadInt32LittleEndian(body);
        var receivedAtMs = BinaryPrimitives.ReadInt64LittleEndian(body[4..]);
        var index = BinaryPrimitives.ReadInt32LittleEndian(body[12..]);
        var at = 16;
        var texts = new string[3];
        for (var i = 0; i < texts.Length; i++)
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(body[at..]);
            texts[i] = Encoding.UTF8.GetString(body.Slice(at + 4, length));
            at += 4 + length;
        }

        return new JournalRecord(number, null, new JournalRejection(sourceKey, receivedAtMs,
            new Rejection(index < 0 ? null : index, texts[0], texts[1], texts[2], body[at..].ToArray())));
    }

    /// <summary>Zero-fills the file up to at least <paramref name="bytes"/>, so most syncs leave its size alone.</summary>
    private void EnsureAllocated(long bytes)
    {
        if (bytes <= _allocated)
        {
            return;
        }

        var target = (bytes + GrowthBytes - 1) / GrowthBytes * GrowthBytes;
        for (var at = _allocated; at < target; at += Zeros.Length)
        {
            RandomAccess.Write(_file, Zeros.AsSpan(0, (int)Math.Min(Zeros.Length, target - at)), at);
        }

        _allocated = target;
    }

    private void Sync()
    {
        var result = OperatingSystem.IsLinux() ? FDataSync(_file) : FSync(_file);
        if (result != 0)
        {
            throw new IOException($"Syncing {FileName} failed (errno {Marshal.GetLastPInvokeError()}); the events of this commit are not durable.");
        }
    }

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static partial int FDataSync(SafeFileHandle file);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FSync(SafeFileHandle file);

    public void Dispose() => _file.Dispose();
}
