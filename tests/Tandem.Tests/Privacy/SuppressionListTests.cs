using System.Text;
using Microsoft.Data.Sqlite;
using Tandem.Privacy;
using Tandem.Tests.Support;
using Tandem.Unify;

namespace Tandem.Tests.Privacy;

/// <summary>The collector's suppression check: every place an identifier can travel, every way it can be written.</summary>
public sealed class SuppressionListTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("tandem-suppression-").FullName;
    private readonly SuppressionList _list;

    public SuppressionListTests()
    {
        _list = TestSuppressions.Open(_directory, TimeProvider.System);
        _list.Suppress("prq_1", [
            new Identifier(IdentifierType.UserId, "ada-1"),
            new Identifier(IdentifierType.UserId, "42"),
            new Identifier(IdentifierType.AnonymousId, "anon-ada"),
            new Identifier(IdentifierType.Email, "zoë@example.com"),
            new Identifier(IdentifierType.Email, "ada@example.com"),
            new Identifier(IdentifierType.Phone, "+1 415 555 0142"),
            new Identifier("salesforce_contact_id", "003XYZ"),
        ]);
    }

    [Theory]
    [InlineData("""{"userId":"ada-1"}""")]
    [InlineData("""{"userId":"  ada-1 "}""")]
    [InlineData("""{"userId":"ad\u0061-1"}""")]
    [InlineData("""{"userId":42}""")]
    [InlineData("""{"anonymousId":"anon-ada","userId":"someone-else"}""")]
    [InlineData("""{"type":"alias","previousId":"anon-ada","userId":"new"}""")]
    [InlineData("""{"traits":{"name":"x","email":" ADA@Example.COM "}}""")]
    [InlineData("""{"traits":{"email":"Zoë@Example.com"}}""")]
    [InlineData("""{"context":{"page":{"path":"/"},"traits":{"phone":"+1 415 555 0142"}}}""")]
    [InlineData("""{"context":{"externalIds":[{"id":"other","type":"hubspot_id"},{"collection":"users","id":"003XYZ","type":"salesforce_contact_id"}]}}""")]
    [InlineData("""{"properties":{"userId":"x"},"userId":"ada-1"}""")]
    public void EveryWayThePersonIsNamed_Matches(string json) =>
        Assert.Equal("prq_1", _list.Match(Encoding.UTF8.GetBytes(json)));

    [Theory]
    [InlineData("""{"userId":"ada-2","anonymousId":"anon-bo"}""")]
    [InlineData("""{"properties":{"email":"ada@example.com"},"userId":"bo"}""")]
    [InlineData("""{"traits":{"email":["ada@example.com"]},"userId":"bo"}""")]
    [InlineData("""{"context":{"externalIds":[{"id":"003XYZ","type":"hubspot_id"}]},"userId":"bo"}""")]
    [InlineData("""{"userId":"anon-ada"}""")]
    [InlineData("""[{"userId":"ada-1"}]""")]
    public void OthersAndOtherPlaces_DoNotMatch(string json) =>
        Assert.Null(_list.Match(Encoding.UTF8.GetBytes(json)));

    [Fact]
    public void ARefusedSample_IsMatchedAsFarAsItReads_AndNeverThrows()
    {
        // A cut-off sample that names the person before the cut is theirs; garbage names no one.
        Assert.Equal("prq_1", _list.MatchRaw(Encoding.UTF8.GetBytes("{\"userId\":\"ada-1\", trunc")));
        Assert.Null(_list.MatchRaw(Encoding.UTF8.GetBytes("{\"userId\":\"bo\", trunc")));
        Assert.Null(_list.MatchRaw(Encoding.UTF8.GetBytes("not json")));
        Assert.Equal("prq_1", _list.MatchRaw(Encoding.UTF8.GetBytes("{\"userId\":\"ada-1\"}")));
    }

    [Fact]
    public void TheListSurvivesAReopen_AndAnUnsuppressLiftsEveryIdentifierOfTheRequest()
    {
        _list.Dispose();
        using var reopened = TestSuppressions.Open(_directory, TimeProvider.System);
        Assert.Equal("prq_1", reopened.Match(Encoding.UTF8.GetBytes("""{"traits":{"email":"ada@example.com"}}""")));
        Assert.Equal(["prq_1"], reopened.Unsuppress(new Identifier(IdentifierType.Phone, "+1 415 555 0142")));
        Assert.False(reopened.Active);
        Assert.Null(reopened.Match(Encoding.UTF8.GetBytes("""{"userId":"ada-1"}""")));
    }

    private static readonly Identifier[] Cy =
    [
        new(IdentifierType.UserId, "42"),
        new(IdentifierType.Email, "cy@example.com"),
        new(IdentifierType.Phone, "+1 415 555 0199"),
        new("salesforce_contact_id", "003CY"),
    ];

    [Theory]
    [InlineData("""{"userId":42,"messageId":"m"}""")]
    [InlineData("""{"anonymousId":"x","context":{"traits":{"phone":" +1 415 555 0199"}}}""")]
    [InlineData("""{"anonymousId":"x","context":{"externalIds":[{"id":"003CY","type":"salesforce_contact_id"}]}}""")]
    [InlineData("""{"anonymousId":"x","traits":{"email":"cy@example.com"}}""")]
    [InlineData("""{"anonymousId":"x","properties":{"referrer":"CY@Example.com"}}""")]
    [InlineData("""{"batch":[{"userId":"someone"},{"userId":"42","event":""}]}""")]
    [InlineData("""{"userId":"x","traits":{"email":"CY@example.com"}""")]
    [InlineData("""{"batch":[{"userId":"a"},{"anonymousId":"x","context":{"traits":{"phone":"+1 415 555 0199","na""")]
    public void ARefusedSample_NamesThePerson_WhereverTheirValueIs_ReadableOrNot(string sample) =>
        Assert.True(_list.Naming(Cy)(Encoding.UTF8.GetBytes(sample)));

    [Theory]
    [InlineData("""{"userId":"420","properties":{"total":42}}""")]
    [InlineData("""{"userId":"cy-4","traits":{"email":"cy@example.org","phone":"+1 415 555 019"}}""")]
    [InlineData("""{"userId":"x","traits":{"email":"cy@example.com.au"}""")]
    [InlineData("""not json at all, +1 415 555 0100""")]
    public void ARefusedSample_OfSomeoneElse_IsNotTheirs(string sample) =>
        Assert.False(_list.Naming(Cy)(Encoding.UTF8.GetBytes(sample)));

    public void Dispose()
    {
        _list.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }
}
