"""meet-fetcher: fetch requests in, complete Google Meet participant snapshots out."""
