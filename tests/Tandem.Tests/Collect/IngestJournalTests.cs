using System.Buffers;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Collect;
using Tandem.Tests.Support;

namespace Tandem.Tests.Collect;

/// <summary>
/// The journal that makes an acknowledgement durable: what it holds and log.db does not (a stop
/// before the store copied it) is copied in on start, once; a torn last write reads as the end; and
/// the journal starts over when it grows past its bound without losing anything.
/// </summary>
public sealed class IngestJournalTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("tandem-journal-").FullName;

    [Fact]
    public void Start_CopiesAcknowledgedRecordsLogDbLacks_EventsAndRefusals_Once()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        WriteJournal(buffer =>
        {
            for (var seq = 1; seq <= 3; seq++)
            {
                IngestJournal.EncodeEvent(buffer, seq, seq, 7, now, Message(seq));
            }

            IngestJournal.EncodeRejection(buffer, 4, 7, now, new Rejection(2, "missing_id", "userId", "no userId or anonymousId", """{"event":"E"}"""u8.ToArray()));
        }, records: 4);

        using (var log = new IngestLog(_data, new IngestLogOptions(), TimeProvider.System))
        {
            Assert.Equal(3, log.Head);
            var events = log.ReadAfter(0, 10);
            Assert.Equal([1L, 2L, 3L], events.Select(e => e.Seq));
            Assert.Equal(Message(2).Json, events[1].Payload);
            Assert.All(events, e => Assert.Equal(7, e.SourceKey));
            var refused = Assert.Single(log.ReadRejections(7, 10));
            Assert.Equal((2, "missing_id", "userId"), (refused.Index, refused.Reason, refused.Field));
        }

        // Copied once: a second start finds them in log.db and copies nothing again.
        using (var log = new IngestLog(_data, new IngestLogOptions(), TimeProvider.System))
        {
            Assert.Equal(3, log.ReadAfter(0, 10).Count);
            Assert.Single(log.ReadRejections(7, 10));
        }

        Assert.Equal(3, CountRows("events"));
        Assert.Equal(1, CountRows("rejections"));
    }

    [Fact]
    public void Start_AfterATornLastWrite_KeepsWhatCameBefore_AndNumbersOnFromThere()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        WriteJournal(buffer =>
        {
            for (var seq = 1; seq <= 3; seq++)
            {
                IngestJournal.EncodeEvent(buffer, seq, seq, 7, now, Message(seq));
            }
        }, records: 3);

        // The third record was being written when the machine stopped: its last bytes never landed.
        var path = Path.Combine(_data, IngestJournal.FileName);
        var bytes = File.ReadAllBytes(path);
        var third = LastRecordOffset(bytes, records: 3);
        Array.Clear(bytes, third + 40, 20);
        File.WriteAllBytes(path, bytes);

        using var log = new IngestLog(_data, new IngestLogOptions(), TimeProvider.System);
        Assert.Equal([1L, 2L], log.ReadAfter(0, 10).Select(e => e.Seq));
        Assert.Equal(2, log.Head);
    }

    [Fact]
    public async Task Journal_PastItsBound_StartsOver_AndEveryEventIsKept()
    {
        await using var server = await TandemServer.StartAsync(new IngestLogOptions { JournalRestartBytes = 16 * 1024 });
        for (var b = 0; b < 12; b++)
        {
            var batch = string.Join(',', Enumerable.Range(0, 50).Select(i => $$"""{"type":"track","userId":"u{{i}}","event":"E{{b}}","messageId":"j{{b}}-{{i}}"}"""));
            await HttpAssert.JsonAsync(await server.CollectAsync("/v1/batch", $$"""{"batch":[{{batch}}]}"""), HttpStatusCode.OK);
        }

        var log = server.Services.GetRequiredService<IngestLog>();
        Assert.Equal(600, log.Head);
        Assert.Equal(1 << 20, new FileInfo(Path.Combine(server.DataDirectory, IngestJournal.FileName)).Length); // 180 KB written, never grown
        await server.RestartAsync();
        log = server.Services.GetRequiredService<IngestLog>();
        var all = log.ReadAfter(0, 1000);
        Assert.Equal(Enumerable.Range(1, 600).Select(i => (long)i), all.Select(e => e.Seq));
        Assert.Equal(600, all.Select(e => JsonDocument.Parse(e.Payload).RootElement.GetProperty("messageId").GetString()).Distinct().Count());
    }

    private void WriteJournal(Action<ArrayBufferWriter<byte>> encode, int records)
    {
        using var journal = new IngestJournal(_data, 64L << 20);
        journal.Restart(1);
        var buffer = new ArrayBufferWriter<byte>();
        encode(buffer);
        journal.Append(buffer.WrittenSpan, records);
    }

    private static StampedMessage Message(int n) =>
        new(0, MessageType.Track, $"m-{n}", Encoding.UTF8.GetBytes($$"""{"type":"track","userId":"u{{n}}","event":"E","messageId":"m-{{n}}"}"""));

    private static int LastRecordOffset(byte[] journal, int records)
    {
        var offset = 4096;
        for (var i = 1; i < records; i++)
        {
            offset += BitConverter.ToInt32(journal, offset);
        }

        return offset;
    }

    private long CountRows(string table)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_data, "log.db")};Pooling=false");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT COUNT(*) FROM {table}";
        return (long)command.ExecuteScalar()!;
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_data, recursive: true);
    }
}
