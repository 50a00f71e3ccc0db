K
ok-1meetingKZ"taliban*
2024-01-02J!a valid record before the bad one
xmeetingKZ"taliban*0000