namespace Tandem.Collect;

/// <summary>What one append did: events stored, events dropped as duplicates, the last sequence number used.</summary>
public readonly record struct AppendResult(int Stored, int Deduplicated, long LastSeq);

/// <summary>One stored event, as the log holds it.</summary>
public readonly record struct LogEntry(long Seq, int SourceKey, DateTimeOffset ReceivedAt, byte[] Payload);

/// <summary>One refused event, as the log holds it.</summary>
public sealed record StoredRejection(long Id, DateTimeOffset ReceivedAt, int? Index, string Reason, string Field, string Detail, byte[] Payload);
