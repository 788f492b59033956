using System.Text;
using Microsoft.Data.Sqlite;
using Tandem.Privacy;
using Tandem.Tests.Support;
using Tandem.Unify;

namespace Tandem.Tests.Privacy;

/// <summary>
/// How the collector's suppression check reads an event it does not expect: identifier fields of the
/// wrong JSON kind, several candidates in one object, external ids written as numbers or escaped,
/// a padded value that also needs unescaping. Whatever precedes or surrounds the person's identifier,
/// the event is theirs; what only looks like an identifier is not.
/// </summary>
public sealed class SuppressionScanTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("tandem-suppression-").FullName;
    private readonly SuppressionList _list;

    public SuppressionScanTests()
    {
        _list = TestSuppressions.Open(_directory, TimeProvider.System);
        _list.Suppress("prq_1", [
            new Identifier(IdentifierType.UserId, "ada-1"),
            new Identifier(IdentifierType.AnonymousId, "anon-ada"),
            new Identifier(IdentifierType.Email, "ada@example.com"),
            new Identifier("salesforce_contact_id", "003XYZ"),
            new Identifier("numeric_id", "3003"),
        ]);
    }

    public void Dispose()
    {
        _list.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Theory]
    // An identifier field of the wrong kind is passed over whole, and what follows it is still read.
    [InlineData("""{"userId":{"id":"someone"},"anonymousId":"anon-ada"}""")]
    [InlineData("""{"userId":null,"anonymousId":"anon-ada"}""")]
    [InlineData("""{"traits":["pro"],"userId":"ada-1"}""")]
    [InlineData("""{"context":["web"],"userId":"ada-1"}""")]
    [InlineData("""{"context":{"externalIds":{"id":"x","type":"y"},"traits":{"email":"ada@example.com"}}}""")]
    [InlineData("""{"context":{"externalIds":["x",{"id":"003XYZ","type":"salesforce_contact_id"}]}}""")]
    // Their identifier first, someone else's after it in the same object: the first hit stands.
    [InlineData("""{"traits":{"email":"ada@example.com","phone":"+1 415 555 0100"}}""")]
    [InlineData("""{"context":{"externalIds":[{"id":"003XYZ","type":"salesforce_contact_id"}],"traits":{"email":"bo@example.com"}}}""")]
    [InlineData("""{"context":{"externalIds":[{"id":"003XYZ","type":"salesforce_contact_id"},{"id":"004BO","type":"salesforce_contact_id"}]}}""")]
    // External ids: the pair in any order, beside other fields, written as a number or escaped.
    [InlineData("""{"context":{"externalIds":[{"id":"003XYZ","type":"salesforce_contact_id","collection":"users","encoding":"none"}]}}""")]
    [InlineData("""{"context":{"externalIds":[{"type":"salesforce_contact_id"},{"id":"003XYZ","type":"salesforce_contact_id"}]}}""")]
    [InlineData("""{"context":{"externalIds":[{"type":"numeric_id","id":3003}]}}""")]
    [InlineData("""{"context":{"externalIds":[{"type":"salesforce_contact_id","id":"003\u0058YZ"}]}}""")]
    // Escaped and padded at once: unescaped, then trimmed, as the profile engine keeps it.
    [InlineData("""{"userId":"  ad\u0061-1 "}""")]
    [InlineData("""{"traits":{"email":" AD\u0041@example.com "}}""")]
    public void ThePerson_IsFound_WhateverSurroundsTheirIdentifier(string json) =>
        Assert.Equal("prq_1", _list.Match(Encoding.UTF8.GetBytes(json)));

    [Theory]
    // A top-level email is not a trait, and a value of the wrong kind names no one.
    [InlineData("""{"traits":"ada@example.com","email":"ada@example.com"}""")]
    [InlineData("""{"context":"x","externalIds":[{"id":"003XYZ","type":"salesforce_contact_id"}]}""")]
    [InlineData("""{"userId":true,"anonymousId":["anon-ada"]}""")]
    // An external id needs both its type and its id, in the same entry.
    [InlineData("""{"context":{"externalIds":[{"id":"003XYZ"},{"type":"salesforce_contact_id"}]}}""")]
    [InlineData("""{"context":{"externalIds":[{"id":"003XYZ","type":"hubspot_id"}]}}""")]
    [InlineData("""{"context":{"externalIds":[{"type":"salesforce_contact_id","id":"004BO","collection":"003XYZ"}]}}""")]
    [InlineData("""{"context":{"externalIds":[{"type":"salesforce_contact_id","id":{"value":"003XYZ"}}]}}""")]
    public void WhatOnlyLooksLikeTheirIdentifier_IsNotTheirs(string json) =>
        Assert.Null(_list.Match(Encoding.UTF8.GetBytes(json)));

    [Fact]
    public void AnEmptyList_MatchesNothing_AndSaysSoBeforeReading()
    {
        var directory = Directory.CreateTempSubdirectory("tandem-suppression-").FullName;
        try
        {
            using var empty = TestSuppressions.Open(directory, TimeProvider.System);
            Assert.False(empty.Active);
            Assert.Null(empty.Match(Encoding.UTF8.GetBytes("""{"userId":"ada-1"}""")));
            Assert.Null(empty.MatchRaw(Encoding.UTF8.GetBytes("not json")));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }
}
