evt1 4f1c2a8e9b7d4c3e8a1f0b2c3d4e5f60" 0000000000000000000000000000aaaa*829597750@10.26.0.15808—Å¥ò„1Bkazoo_apps@aRÑ
/http://pivot.example.com/callflow.php?Call-ID=1post1
content-type!application/x-www-form-urlencoded"Caller-ID-Number=%2B1415