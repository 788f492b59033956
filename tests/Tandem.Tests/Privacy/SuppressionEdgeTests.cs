using System.Text;
using Tandem.Privacy;
using Tandem.Tests.Support;
using Tandem.Unify;

namespace Tandem.Tests.Privacy;

/// <summary>
/// The places a suppressed person can still hide in an event or a refused sample, found by mutation
/// testing: a previousId that is their user id, a match in context.traits followed by other context,
/// and a refused sample that names them at its very first byte or in capitals.
/// </summary>
public sealed class SuppressionEdgeTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("tandem-suppression-").FullName;
    private readonly SuppressionList _list;

    public SuppressionEdgeTests()
    {
        _list = TestSuppressions.Open(_directory, TimeProvider.System);
        _list.Suppress("prq_1", [new Identifier(IdentifierType.UserId, "ada-1"), new Identifier(IdentifierType.Email, "zara@example.com")]);
    }

    public void Dispose()
    {
        _list.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Theory]
    [InlineData("""{"type":"alias","previousId":"ada-1","userId":"new-id"}""")]
    [InlineData("""{"context":{"traits":{"email":"zara@example.com"},"externalIds":[{"id":"x","type":"hubspot_id"}],"page":{"path":"/"}}}""")]
    [InlineData("""{"context":{"traits":{"email":"zara@example.com"}},"anonymousId":"someone","traits":{"plan":"pro"}}""")]
    [InlineData("""{"userId":"ada-1","anonymousId":"someone-else","traits":{"email":"other@example.com"}}""")]
    public void ThePersonNamedBesideOthers_IsStillMatched(string json) =>
        Assert.Equal("prq_1", _list.Match(Encoding.UTF8.GetBytes(json)));

    [Theory]
    [InlineData("\"ada-1\", cut off here", true)]
    [InlineData("garbage \"ada-1\" more garbage", true)]
    [InlineData("\"ZARA@EXAMPLE.COM\" cut off", true)]
    [InlineData("{\"traits\":{\"email\":\"Zara@Example.Com\"", true)]
    [InlineData("\"ADA-1\" cut off", false)]
    [InlineData("\"ada-10\" cut off", false)]
    [InlineData("\"azara@example.com\" cut off", false)]
    public void ARefusedSample_NamesThePerson_AnywhereAsAJsonString_EmailsInAnyCase(string sample, bool names)
    {
        var naming = _list.Naming([new Identifier(IdentifierType.UserId, "ada-1"), new Identifier(IdentifierType.Email, "zara@example.com")]);
        Assert.Equal(names, naming(Encoding.UTF8.GetBytes(sample)));
    }
}
