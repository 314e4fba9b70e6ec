# perl: hashes of hundreds of thousands of keys (perl grows its hash arrays with realloc), string
# concatenation that grows one buffer to megabytes, regex matching and substitution, sort with a
# comparator, nested data structures freed by reference counting. Prints counts and digests only.
perl -Mstrict -Mwarnings -MDigest::MD5=md5_hex - <<'PERL'
# In-process proof that this perl runs on ptmem (the driver asserts yes/no per run).
open(my $m, '<', '/proc/self/maps') or die;
my $maps = do { local $/; <$m> };
close $m;
open(my $p, '>>', $ENV{PTMEM_PROBE}) or die;
print $p "perl:/proc/self/maps ", ($maps =~ /libptmem/ ? "yes" : "no"), "\n";
close $p;

# hash of 400k keys, half deleted, then rebuilt
my %h;
$h{"k" . ($_ * 7919 % 1000003)} = [$_, "v$_" x ($_ % 4)] for 1 .. 400_000;
delete $h{"k" . ($_ * 7919 % 1000003)} for grep { $_ % 2 } 1 .. 400_000;
my $sum = 0;
$sum += $h{$_}[0] for keys %h;
print "hash ", scalar(keys %h), " $sum ", md5_hex(join ",", map { "$_=$h{$_}[1]" } (sort keys %h)[0 .. 999]), "\n";
%h = ();

# sort 500k strings, numerically and with a custom comparator
my @w = map { sprintf("%x", ($_ * 2654435761) % 4294967291) } 1 .. 500_000;
my @s1 = sort @w;
my @s2 = sort { length($a) <=> length($b) or reverse($a) cmp reverse($b) } @w;
print "sort ", md5_hex(join "", @s1[map { $_ * 997 } 0 .. 500]), " ", md5_hex(join "", @s2[map { $_ * 997 } 0 .. 500]), "\n";
@w = @s1 = @s2 = ();

# a big string, regexes and substitutions
my $text = "";
$text .= "line $_: alpha=" . ($_ * 3) . " beta=" . ("x" x ($_ % 17)) . " gamma\n" for 1 .. 150_000;
my ($tot, $n) = (0, 0);
while ($text =~ /alpha=(\d+) beta=(x*)/g) { $tot += $1; $n += length $2 }
(my $t2 = $text) =~ s/(\d+)/<$1>/g;
my @parts = split /gamma\n/, $text;
print "re ", length($text), " $tot $n ", length($t2), " ", scalar(@parts), " ", md5_hex($t2), "\n";

# nested structures with references, freed when they go out of scope
for my $round (1 .. 4) {
  my @list = map { { id => $_, kids => [map { { v => $_ } } 1 .. ($_ % 7)], name => "n$_" } } 1 .. 60_000;
  my $cnt = 0;
  $cnt += scalar @{ $_->{kids} } for @list;
  print "round $round $cnt\n";
}

# pack/unpack and join of large lists
my $bin = pack("N*", 1 .. 300_000);
my @back = unpack("N*", $bin);
print "pack ", length($bin), " ", scalar(@back), " ", md5_hex($bin), "\n";
PERL
