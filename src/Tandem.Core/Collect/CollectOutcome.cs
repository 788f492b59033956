namespace Tandem.Collect;

/// <summary>One event that passed Spec validation, stamped and serialised as it will be stored.</summary>
/// <param name="Index">Position in the request (0 for single-event calls).</param>
public readonly record struct StampedMessage(int Index, MessageType Type, string MessageId, byte[] Json);

/// <summary>
/// One event the collector refused, kept with its reason so nothing vanishes without a trace.
/// </summary>
/// <param name="Index">Position in the batch; null when the whole body was refused.</param>
/// <param name="Reason">Stable machine-readable code, e.g. <c>missing_identity</c>.</param>
/// <param name="Field">Where the problem is, e.g. <c>batch[3].userId</c>.</param>
/// <param name="Detail">What was wrong and how to fix it.</param>
/// <param name="Payload">The refused JSON (or the start of the body when it was not JSON).</param>
public sealed record Rejection(int? Index, string Reason, string Field, string Detail, byte[] Payload);

/// <summary>
/// Something the collector changed in an event it stored, told to the sender in the answer's
/// <c>repaired</c> list: text that was not valid Unicode, a timestamp outside the sane range.
/// </summary>
public sealed record Repair(int Index, string Reason, string Field, string Detail);

/// <summary>A problem with the whole request body: nothing in it can be stored as an event.</summary>
public sealed record BodyError(string Reason, string Title, string Detail, string Field);

/// <summary>What the collector made of one request body.</summary>
public sealed class CollectOutcome
{
    public List<StampedMessage> Accepted { get; } = [];

    public List<Rejection> Rejected { get; } = [];

    /// <summary>What was changed in events before they were stored (they are in <see cref="Accepted"/> or <see cref="Rejected"/>).</summary>
    public List<Repair> Repairs { get; } = [];

    /// <summary>
    /// For events whose <c>messageId</c> held broken text: what keeps it apart from others repaired to the
    /// same text (<c>"m\ud83d"</c> and <c>"m\ud83e"</c> both read <c>"m�"</c>), by event index.
    /// </summary>
    internal Dictionary<int, string>? MessageIdSuffixes { get; set; }

    /// <summary>Write key found in the body (<c>writeKey</c>), if any.</summary>
    public string? BodyWriteKey { get; set; }

    /// <summary>Set when the body as a whole is unusable (invalid JSON, too many events...).</summary>
    public BodyError? Error { get; set; }
}
