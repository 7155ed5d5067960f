console.log("paxos");
