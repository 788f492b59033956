using System.Text;
using Tandem.Unify;

namespace Tandem.Tests.Unify;

/// <summary>What the mutation run of EventIdentity.Scan.cs found untested (docs/testing.md): where a scan stops, and what it does not read.</summary>
public sealed partial class EventIdentityTests
{
    // The visitor's "stop" is honoured wherever the first identifier is found, and nothing after it is visited.
    [Theory]
    [InlineData("""{"traits":{"email":"a@x.io","phone":"+1 555"},"userId":"u"}""", "email", "a@x.io")]
    [InlineData("""{"context":{"traits":{"email":"a@x.io"},"externalIds":[{"type":"user_id","id":"e"}]},"userId":"u"}""", "email", "a@x.io")]
    [InlineData("""{"context":{"externalIds":[{"type":"user_id","id":"e1"},{"type":"user_id","id":"e2"}]},"userId":"u"}""", "user_id", "e1")]
    // After the stop, what follows inside the object is not read as the event's own fields either.
    [InlineData("""{"traits":{"email":"a@x.io","userId":"t"},"userId":"u"}""", "email", "a@x.io")]
    [InlineData("""{"context":{"traits":{"email":"a@x.io","userId":"t"}},"userId":"u"}""", "email", "a@x.io")]
    [InlineData("""{"context":{"externalIds":[{"type":"user_id","id":"e1"},{"userId":"t"}]},"userId":"u"}""", "user_id", "e1")]
    [InlineData("""{"context":{"externalIds":[{"type":"user_id","id":"e1"}],"traits":{"email":"t@x.io"}}}""", "user_id", "e1")]
    public void Scan_VisitorStopsAtTheFirst_NothingAfterItIsVisited(string json, string type, string value)
    {
        var visitor = new Collecting { StopAfter = 1 };

        EventIdentity.Scan(Encoding.UTF8.GetBytes(json), TraitKeyedTypes.Of(Rules), ref visitor);

        Assert.Equal([new Identifier(type, value)], visitor.Seen);
    }

    // Identifiers after a context or an externalIds list are still read.
    [Theory]
    [InlineData("""{"context":{"traits":{}},"userId":"u"}""")]
    [InlineData("""{"context":{"externalIds":[]},"userId":"u"}""")]
    [InlineData("""{"context":{"externalIds":{"type":"user_id","id":"not-a-list"}},"userId":"u"}""")]
    public void Scan_IdentifierAfterTheContext_IsVisited(string json)
    {
        Assert.Equal([new Identifier("user_id", "u")], Scanned(json));
    }

    [Fact]
    public void Scan_TraitsAfterAnEmptyExternalIdsList_AreVisited()
    {
        Assert.Equal([new Identifier("email", "e@x.io")], Scanned("""{"context":{"externalIds":[],"traits":{"email":"e@x.io"}}}"""));
    }

    // Only the documented places name a person: an email nested deeper is a value like any other.
    [Theory]
    [InlineData("""{"traits":{"address":{"email":"n@x.io"}}}""")]
    [InlineData("""{"context":{"page":{"traits":{"email":"n@x.io"}}}}""")]
    [InlineData("""{"context":{"externalIds":[[{"type":"email","id":"n@x.io"}]]}}""")]
    [InlineData("""{"context":{"externalIds":[{"type":"email"}]}}""")]
    public void Scan_IdentifierOutsideTheDocumentedPlaces_IsNotVisited(string json)
    {
        Assert.Empty(Scanned(json));
    }

    [Fact]
    public void Scan_ValueLongerThanTheStackBuffer_IsVisitedWhole()
    {
        var id = new string('a', 600);

        Assert.Equal([new Identifier("user_id", id)], Scanned($$"""{"userId":"  {{id}} "}"""));
    }

    [Fact]
    public void TryNormal_ScratchTooSmallForTheValue_SaysSo()
    {
        Span<byte> scratch = stackalloc byte[4];

        Assert.False(EventIdentity.TryNormal(IdentifierType.UserId, "abcdefgh"u8, scratch, out _));
        Assert.True(EventIdentity.TryNormal(IdentifierType.UserId, " abcd "u8, scratch, out var normal));
        Assert.Equal("abcd", Encoding.UTF8.GetString(normal));
    }
}
